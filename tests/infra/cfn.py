"""Resolving a synthesized template's intrinsic functions to the values of a test account.

The tests that run the synthesized app (state machines, permissions) need concrete
values where CloudFormation would put them: ARNs of the state machines and secrets the
test created in moto, the bucket name, the account and region. `Resolver` takes those
per logical id and resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split
and Fn::ImportValue (through the exporting stack's Outputs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::NoValue": None,
}


@dataclass
class StackValues:
    """A stack's template and the values a test gives its resources."""

    template: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }


class Resolver:
    """Resolves values of one stack; imports are looked up in the other stacks' outputs."""

    def __init__(self, stack: StackValues, others: list[StackValues]) -> None:
        self.stack = stack
        self.exports: dict[str, tuple[StackValues, Any]] = {}
        for other in [stack, *others]:
            for output in other.template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if name:
                    self.exports[name] = (other, output["Value"])
        self.others = others

    def resolve(self, value: Any) -> Any:
        return _resolve(value, self.stack, self)

    def resolve_in(self, stack: StackValues, value: Any) -> Any:
        return _resolve(value, stack, self)


def _placeholder(logical_id: str, attribute: str | None = None) -> str:
    """A readable stand-in, in ARN form (IAM insists), for a value no test needs (log
    group ARNs, subnet ids)."""
    return f"arn:aws:test:{REGION}:{ACCOUNT}:{logical_id}/{attribute or 'Ref'}"


def _resolve(value: Any, stack: StackValues, resolver: Resolver) -> Any:
    if isinstance(value, list):
        return [_resolve(item, stack, resolver) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
        return {key: _resolve(item, stack, resolver) for key, item in value.items()}
    ((function, argument),) = value.items()
    if function == "Ref":
        if argument in PSEUDO:
            return PSEUDO[argument]
        return stack.refs.get(argument, _placeholder(argument))
    if function == "Fn::GetAtt":
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".")
        return stack.attributes.get((logical_id, attribute), _placeholder(logical_id, attribute))
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(str(_resolve(part, stack, resolver)) for part in parts)
    if function == "Fn::Select":
        index, items = argument
        return _resolve(items, stack, resolver)[int(index)]
    if function == "Fn::Split":
        separator, text = argument
        return str(_resolve(text, stack, resolver)).split(separator)
    if function == "Fn::ImportValue":
        exporter, exported = resolver.exports[_resolve(argument, stack, resolver)]
        return _resolve(exported, exporter, resolver)
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        return re.sub(
            r"\$\{([^}]+)\}",
            lambda match: str(
                _resolve(variables[match.group(1)], stack, resolver)
                if match.group(1) in variables
                else _resolve(
                    {"Fn::GetAtt": match.group(1).split(".", 1)}
                    if "." in match.group(1) and not match.group(1).startswith("AWS::")
                    else {"Ref": match.group(1)},
                    stack,
                    resolver,
                )
            ),
            text,
        )
    raise NotImplementedError(f"intrinsic {function} is not resolved by the tests")
