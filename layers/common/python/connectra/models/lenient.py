"""Request leniency of the original Connectra, applied before strict validation.

The original (Go, `encoding/json`) ignored unknown keys and decoded `null` as "absent";
its query builder treated `limit`/`page` 0 as the defaults and never read `fuzzy` on exact
or substring conditions, `operator` on exact ones, or `slop` outside exact ones. Existing
clients send such bodies, so a `LenientInput` model accepts them: it removes what the
original ignored, lists each removal in `warnings`, and validates the rest strictly.

What stays a 400 (it would be ambiguous or unsafe to guess): wrong types ("limit": "5",
"fuzzy": "yes"), unknown field names inside `filter_key`, `keyword_match` or
`range_query` (a typo there would silently widen the search), a limit over the maximum.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from pydantic import (
    AliasChoices,
    BaseModel,
    PrivateAttr,
    ValidatorFunctionWrapHandler,
    model_validator,
)

# Integer fields where the original read 0 as "use the default".
ZERO_MEANS_DEFAULT = frozenset({"limit", "page"})


def _nested_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """`Where` → ("model", Where); `list[TextMatch]` → ("list", TextMatch);
    `dict[str, RangeBounds]` → ("dict", RangeBounds); Optional/Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    args = typing.get_args(annotation)
    if origin is list and args:
        inner = _nested_model(args[0])
        return ("list", inner[1]) if inner and inner[0] == "model" else None
    if origin is dict and len(args) == 2:
        inner = _nested_model(args[1])
        return ("dict", inner[1]) if inner and inner[0] == "model" else None
    return None


def _zero_means_default(key: str, value: Any) -> bool:
    return key in ZERO_MEANS_DEFAULT and type(value) is int and value == 0


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _ignored_text_options(item: dict[str, Any], path: str, warnings: list[str]) -> None:
    """Options the original's builder never read for this search type. Only well-typed
    values are dropped: a wrongly typed option ("fuzzy": "yes") is still a 400."""
    search_type = item.get("search_type", "shuffle")
    fuzzy, operator, slop = item.get("fuzzy"), item.get("operator"), item.get("slop")
    ignored: dict[str, bool] = {}  # option -> whether it asked for something (worth a warning)
    if search_type in ("exact", "substring") and isinstance(fuzzy, bool):
        ignored["fuzzy"] = fuzzy
    if search_type == "exact" and operator in ("and", "or"):
        ignored["operator"] = True
    if search_type != "exact" and type(slop) is int:
        ignored["slop"] = slop != 0
    for key, meaningful in ignored.items():
        del item[key]
        if meaningful:
            warnings.append(f"{_join(path, key)}: ignored for search_type {search_type!r}")


def _clean(model: type[BaseModel], data: dict[str, Any], path: str, warnings: list[str]) -> None:
    """Remove in place what the original ignored, recursing into nested models."""
    fields = model.model_fields
    names = {field.alias or name: name for name, field in fields.items()}
    for name, field in fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names.update({str(choice): name for choice in field.validation_alias.choices})
    for key in list(data):
        value = data[key]
        if key not in names:
            del data[key]
            warnings.append(f"{_join(path, key)}: unknown key ignored")
        elif value is None or _zero_means_default(key, value):
            del data[key]
        else:
            nested = _nested_model(fields[names[key]].annotation)
            if nested is not None:
                data[key] = _clean_nested(nested, value, _join(path, key), warnings)
    if "search_type" in names and "filter_key" in names:
        _ignored_text_options(data, path, warnings)


def _clean_nested(
    nested: tuple[str, type[BaseModel]], value: Any, path: str, warnings: list[str]
) -> Any:
    kind, model = nested
    if kind == "model" and isinstance(value, dict):
        value = dict(value)
        _clean(model, value, path, warnings)
    elif kind == "list" and isinstance(value, list):
        value = [
            _clean_nested(("model", model), item, _join(path, i), warnings)
            for i, item in enumerate(value)
        ]
    elif kind == "dict" and isinstance(value, dict):
        value = {
            k: _clean_nested(("model", model), v, _join(path, k), warnings)
            for k, v in value.items()
        }
    return value


def lenient_body(model: type[BaseModel], data: Any) -> tuple[Any, list[str]]:
    """A copy of `data` without what the original ignored, and one warning per removal."""
    warnings: list[str] = []
    if isinstance(data, dict):
        data = dict(data)
        _clean(model, data, "", warnings)
    return data, warnings


class LenientInput(BaseModel):
    """A request body that accepts what the original accepted; `warnings` says what was
    ignored. Nested models stay strict (`extra="forbid"`): only this top-level validator
    decides what to drop."""

    _warnings: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _accept_legacy_input(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, cls):
            return handler(data)
        cleaned, warnings = lenient_body(cls, data)
        validated = handler(cleaned)
        validated._warnings = warnings
        return validated

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)
