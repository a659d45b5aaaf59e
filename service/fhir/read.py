"""Typed getters over raw JSON that fail with a path, not a traceback."""

from __future__ import annotations

from typing import Any

from service.errors import HookRequestError

JsonObject = dict[str, Any]


def obj(value: Any, path: str) -> JsonObject:
    if not isinstance(value, dict):
        raise HookRequestError(f"expected a JSON object, got {_kind(value)}", path)
    return value


def opt_obj(parent: JsonObject, key: str, path: str) -> JsonObject | None:
    value = parent.get(key)
    return None if value is None else obj(value, f"{path}.{key}")


def opt_list(parent: JsonObject, key: str) -> list[Any]:
    """A list, or a single value where a client sent one (e.g. R4 ``category`` as an object)."""
    value = parent.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def opt_str(parent: JsonObject, key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HookRequestError(f"expected a string, got {_kind(value)}", f"{path}.{key}")
    return value


def opt_num(parent: JsonObject, key: str, path: str) -> float | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        # Some clients send numbers as strings ("2"): accept those that parse.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise HookRequestError(f"expected a number, got {_kind(value)}", f"{path}.{key}")
    return float(value)


def opt_bool(parent: JsonObject, key: str, path: str) -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise HookRequestError(f"expected true or false, got {_kind(value)}", f"{path}.{key}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
