"""Free-form JSON a request may carry (an export's VQL, a legacy job's `data`) is stored
in JSONB, which cannot hold a NUL character: such input is the caller's 400, not a 500."""

from __future__ import annotations

from typing import Any


def storable_json(value: Any) -> Any:
    """`value` unchanged; ValueError naming the path of a string (or key) holding NUL."""
    problem = _nul_path(value, "")
    if problem is not None:
        raise ValueError(f"{problem or 'value'}: must not contain NUL characters")
    return value


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return path or "key"
            found = _nul_path(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
