"""A small Amazon States Language interpreter: runs a synthesized definition in-process.

It implements the parts of ASL our state machines use, as the AWS Step Functions
developer guide defines them ("Processing input and output", "Map state", "Error
handling"), so that tests see what only an execution in AWS would otherwise show:

* the data flow of every state: InputPath → Parameters/ItemSelector → task →
  ResultSelector → ResultPath → OutputPath, with `.$` keys, JSONPath (`$`, `$$` context
  object) and the intrinsic functions we use;
* Task states whose Resource is a Lambda function (payload-only form), run by a
  caller-given `invoke(function_ref, payload)`; a raised exception is a Lambda error
  (Error = the exception's type name, as Lambda's `errorType`);
* Retry (ErrorEquals incl. States.ALL and States.TaskFailed, MaxAttempts; intervals are
  recorded, never slept) and Catch (ResultPath of the error output);
* Choice (And/Or/Not, IsPresent, IsNull, String/Numeric/Boolean comparisons), Pass,
  Succeed, Fail;
* Map and Distributed Map: ItemsPath or an S3 JSON ItemReader, ItemSelector, the item
  processor run once per item, ToleratedFailurePercentage/Count, and the result array.

Every state's input and output, and every Map's raw result array (AWS assembles it in
full before the ResultSelector), is measured against the 256 KiB payload limit: a larger
one raises `States.DataLimitExceeded`, as AWS would.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PAYLOAD_LIMIT_BYTES = 256 * 1024
_INDEX = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")


class StatesError(Exception):
    """An ASL error (Error + Cause) raised by a state."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause

    def output(self) -> dict[str, str]:
        return {"Error": self.error, "Cause": self.cause}


class ExecutionFailed(Exception):
    def __init__(self, error: str, cause: str, trace: list[StateRecord]) -> None:
        super().__init__(f"execution failed with {error}: {cause}")
        self.error = error
        self.cause = cause
        self.trace = trace


@dataclass
class StateRecord:
    """One state entered: its name, sizes of its input and output (bytes), outcome."""

    name: str
    input_bytes: int
    output_bytes: int = 0
    error: str | None = None
    attempts: int = 1
    retry_intervals: list[float] = field(default_factory=list)


def payload_size(document: Any) -> int:
    """The size Step Functions measures: the UTF-8 JSON text."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def _check_size(what: str, document: Any) -> int:
    size = payload_size(document)
    if size > PAYLOAD_LIMIT_BYTES:
        raise StatesError(
            "States.DataLimitExceeded",
            f"{what} is {size} bytes, over the {PAYLOAD_LIMIT_BYTES}-byte limit",
        )
    return size


# ---- JSONPath (the reference paths ASL allows) ------------------------------------------
def _steps(path: str) -> list[str | int]:
    if path in ("$", "$$"):
        return []
    body = path[2:] if path.startswith("$.") else path[3:] if path.startswith("$$.") else None
    if body is None:
        raise StatesError("States.Runtime", f"unsupported path {path!r}")
    steps: list[str | int] = []
    for part in body.split("."):
        match = _INDEX.match(part)
        if not match:
            raise StatesError("States.Runtime", f"unsupported path {path!r}")
        if match.group(1):
            steps.append(match.group(1))
        steps.extend(int(index) for index in re.findall(r"\[(\d+)\]", match.group(2)))
    return steps


_MISSING = object()


def lookup(path: str, document: Any, context: dict[str, Any]) -> Any:
    """The value at `path` ($ = document, $$ = context object), or _MISSING."""
    value = context if path.startswith("$$") else document
    for step in _steps(path):
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return _MISSING
            value = value[step]
    return value


def select(path: str | None, document: Any, context: dict[str, Any]) -> Any:
    """InputPath/OutputPath/ItemsPath: null selects `{}`, a missing path is an error."""
    if path is None:
        return {}
    value = lookup(path, document, context)
    if value is _MISSING:
        raise StatesError("States.Runtime", f"path {path!r} matched nothing in the input")
    return value


def place(result_path: str | None, raw_input: Any, result: Any) -> Any:
    """ResultPath: null keeps the input, `$` replaces it, `$.a.b` sets a (new) field."""
    if result_path is None:
        return raw_input
    steps = _steps(result_path)
    if not steps:
        return result
    output = copy.deepcopy(raw_input)
    if not isinstance(output, dict):
        raise StatesError("States.Runtime", f"ResultPath {result_path} needs an object input")
    target = output
    for step in steps[:-1]:
        if not isinstance(step, str):
            raise StatesError("States.Runtime", "ResultPath cannot index arrays")
        target = target.setdefault(step, {})
    last = steps[-1]
    assert isinstance(last, str)
    target[last] = result
    return output


# ---- Payload templates and intrinsic functions ------------------------------------------
def _intrinsic(expression: str, document: Any, context: dict[str, Any]) -> Any:
    match = re.fullmatch(r"(States\.\w+)\((.*)\)", expression.strip())
    if not match:
        raise StatesError("States.Runtime", f"unsupported intrinsic {expression!r}")
    name, argument_text = match.groups()
    arguments = [
        lookup(arg.strip(), document, context) if arg.strip().startswith("$") else arg.strip()
        for arg in argument_text.split(",")
        if arg.strip()
    ]
    if name == "States.ArrayLength":
        (array,) = arguments
        if not isinstance(array, list):
            raise StatesError("States.IntrinsicFailure", "ArrayLength needs an array")
        return len(array)
    if name == "States.JsonToString":
        (value,) = arguments
        return json.dumps(value, separators=(",", ":"))
    raise StatesError("States.Runtime", f"intrinsic {name} is not implemented here")


def render(template: Any, document: Any, context: dict[str, Any]) -> Any:
    """Parameters / ItemSelector / ResultSelector: `key.$` values are paths or intrinsics."""
    if isinstance(template, list):
        return [render(item, document, context) for item in template]
    if not isinstance(template, dict):
        return template
    rendered: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if value.startswith("States."):
                rendered[key[:-2]] = _intrinsic(value, document, context)
            else:
                found = lookup(value, document, context)
                if found is _MISSING:
                    raise StatesError("States.Runtime", f"{key}: {value} matched nothing")
                rendered[key[:-2]] = found
        else:
            rendered[key] = render(value, document, context)
    return rendered


# ---- Choice rules -----------------------------------------------------------------------
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Numeric": (int, float),
    "Boolean": bool,
}


def matches(rule: dict[str, Any], document: Any, context: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(matches(sub, document, context) for sub in rule["And"])
    if "Or" in rule:
        return any(matches(sub, document, context) for sub in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], document, context)
    value = lookup(rule["Variable"], document, context)
    if "IsPresent" in rule:
        return (value is not _MISSING) == rule["IsPresent"]
    if "IsNull" in rule:
        return (value is None) == rule["IsNull"]
    for operator, expected in rule.items():
        if operator in ("Variable", "Next"):
            continue
        kind = next((name for name in _TYPES if operator.startswith(name)), None)
        if kind is None:
            raise StatesError("States.Runtime", f"Choice operator {operator} not implemented")
        comparison = operator[len(kind) :]
        if comparison.endswith("Path"):
            comparison = comparison[: -len("Path")]
            expected = lookup(expected, document, context)
        # A value of another type (or a missing one) never matches; AWS does the same.
        if value is _MISSING or not isinstance(value, _TYPES[kind]):
            return False
        if kind == "Numeric" and isinstance(value, bool):
            return False
        return _COMPARISONS[comparison](value, expected)
    raise StatesError("States.Runtime", f"empty Choice rule {rule}")


# ---- Errors -----------------------------------------------------------------------------
def error_matches(names: list[str], error: str) -> bool:
    if "States.ALL" in names or error in names:
        return True
    # States.TaskFailed matches any error except States.Timeout (the ASL spec).
    return "States.TaskFailed" in names and error != "States.Timeout"


# ---- The interpreter --------------------------------------------------------------------
Invoke = Callable[[str, Any], Any]
ReadItems = Callable[[dict[str, Any]], list[Any]]


@dataclass
class Interpreter:
    """Runs ASL with `invoke(resource, payload)` for Lambda tasks and `read_items` for
    Distributed Map item readers (given the rendered reader Parameters)."""

    invoke: Invoke
    read_items: ReadItems
    trace: list[StateRecord] = field(default_factory=list)

    def execute(self, definition: dict[str, Any], document: Any, name: str) -> Any:
        context = {"Execution": {"Name": name, "Input": document}}
        _check_size("the execution input", document)
        try:
            return self._run(definition, document, context)
        except StatesError as failure:
            raise ExecutionFailed(failure.error, failure.cause, self.trace) from failure

    def _run(self, machine: dict[str, Any], document: Any, context: dict[str, Any]) -> Any:
        state_name = machine["StartAt"]
        while True:
            state = machine["States"][state_name]
            record = StateRecord(state_name, _check_size(f"{state_name}'s input", document))
            self.trace.append(record)
            try:
                document, following = self._state(state, document, context, record)
            except StatesError as failure:
                record.error = failure.error
                raise
            record.output_bytes = _check_size(f"{state_name}'s output", document)
            if following is None:
                return document
            state_name = following

    def _state(
        self, state: dict[str, Any], document: Any, context: dict[str, Any], record: StateRecord
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        if kind == "Choice":
            for rule in state["Choices"]:
                if matches(rule, document, context):
                    return document, rule["Next"]
            if "Default" not in state:
                raise StatesError("States.NoChoiceMatched", "no Choice rule matched")
            return document, state["Default"]
        if kind == "Succeed":
            return document, None
        if kind == "Fail":
            raise StatesError(state.get("Error", "States.Fail"), state.get("Cause", ""))
        try:
            output = self._with_retries(state, document, context, record)
        except StatesError as failure:
            record.error = failure.error
            for catcher in state.get("Catch", []):
                if error_matches(catcher["ErrorEquals"], failure.error):
                    caught = place(catcher.get("ResultPath", "$"), document, failure.output())
                    return caught, catcher["Next"]
            raise
        return output, None if state.get("End") else state["Next"]

    def _with_retries(
        self, state: dict[str, Any], document: Any, context: dict[str, Any], record: StateRecord
    ) -> Any:
        attempts_by_retrier = [0] * len(state.get("Retry", []))
        while True:
            try:
                return self._process(state, document, context)
            except StatesError as failure:
                retrier = next(
                    (
                        index
                        for index, rule in enumerate(state.get("Retry", []))
                        if error_matches(rule["ErrorEquals"], failure.error)
                    ),
                    None,
                )
                if retrier is None:
                    raise
                rule = state["Retry"][retrier]
                if attempts_by_retrier[retrier] >= rule.get("MaxAttempts", 3):
                    raise
                interval = (
                    rule.get("IntervalSeconds", 1)
                    * rule.get("BackoffRate", 2.0) ** (attempts_by_retrier[retrier])
                )
                attempts_by_retrier[retrier] += 1
                record.attempts += 1
                record.retry_intervals.append(interval)

    def _process(self, state: dict[str, Any], raw_input: Any, context: dict[str, Any]) -> Any:
        """Input selection, the work, ResultSelector, ResultPath, OutputPath."""
        effective = select(state.get("InputPath", "$"), raw_input, context)
        if state["Type"] == "Map":
            result = self._map(state, effective, context)
        else:
            if "Parameters" in state:
                effective = render(state["Parameters"], effective, context)
            if state["Type"] == "Pass":
                result = state.get("Result", effective)
            elif state["Type"] == "Task":
                result = self._task(state, effective)
            else:
                raise StatesError("States.Runtime", f"state type {state['Type']} not implemented")
        if "ResultSelector" in state:
            result = render(state["ResultSelector"], result, context)
        placed = place(state.get("ResultPath", "$"), raw_input, result)
        return select(state.get("OutputPath", "$"), placed, context)

    def _task(self, state: dict[str, Any], payload: Any) -> Any:
        resource = state["Resource"]
        if resource == "arn:aws:states:::lambda:invoke":
            # The full form wraps the response ({"Payload": ...}); ours use payload-only.
            function = payload["FunctionName"]
            return {"Payload": self._call(function, payload.get("Payload")), "StatusCode": 200}
        return self._call(resource, payload)

    def _call(self, function: str, payload: Any) -> Any:
        _check_size("a Lambda invocation payload", payload)
        try:
            return json.loads(json.dumps(self.invoke(function, payload)))
        except StatesError:
            raise
        except Exception as exc:  # a Lambda function error: errorType is the class name
            raise StatesError(type(exc).__name__, str(exc)) from exc

    def _map(self, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> list[Any]:
        items = self._items(state, effective, context)
        processor = state.get("ItemProcessor") or state["Iterator"]
        selector = state.get("ItemSelector") or state.get("Parameters")
        results: list[Any] = []
        failures = 0
        for index, item in enumerate(items):
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
            item_input = render(selector, effective, item_context) if selector else item
            try:
                results.append(self._run(processor, item_input, item_context))
            except StatesError as failure:
                if processor.get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
                    raise
                failures += 1
                results.append(failure.output())
        self._check_tolerance(state, failures, len(items))
        # AWS builds the whole result array before the ResultSelector sees it.
        _check_size(f"the result array of {len(results)} map items", results)
        return results

    @staticmethod
    def _check_tolerance(state: dict[str, Any], failures: int, total: int) -> None:
        if not failures:
            return
        percentage = state.get("ToleratedFailurePercentage", 0)
        count = state.get("ToleratedFailureCount", 0)
        if failures > count and failures * 100 > percentage * total:
            raise StatesError(
                "States.ExceedToleratedFailureThreshold",
                f"{failures} of {total} items failed",
            )

    def _items(self, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> list[Any]:
        reader = state.get("ItemReader")
        if reader is not None:
            if reader["Resource"] != "arn:aws:states:::s3:getObject":
                raise StatesError("States.Runtime", f"item reader {reader['Resource']}")
            if reader.get("ReaderConfig", {}).get("InputType") != "JSON":
                raise StatesError("States.Runtime", "only JSON item readers are implemented")
            items = self.read_items(render(reader["Parameters"], effective, context))
        else:
            items = select(state.get("ItemsPath", "$"), effective, context)
        if not isinstance(items, list):
            raise StatesError("States.ItemReaderFailed", "the items are not a JSON array")
        return items
