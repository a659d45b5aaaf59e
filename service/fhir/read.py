"""Typed getters over raw JSON that fail with a path, not a traceback."""

from __future__ import annotations

import math
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
    """A finite number. JSON has no NaN or Infinity, but Python's json (and so FastAPI's
    body parsing) accepts the literals ``NaN``, ``Infinity`` and ``-Infinity`` and reads an
    overflowing ``1e309`` as infinity; ``float("nan")`` parses the strings too. None of them
    is a dose: a 400 naming the field, never arithmetic on them (issue 9 item 7)."""
    value = parent.get(key)
    if value is None:
        return None
    number: float | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # An integer of 400 digits is valid JSON but no float: OverflowError (issue 12).
            number = float(value)
        elif isinstance(value, str):
            # Some clients send numbers as strings ("2"): accept those that parse.
            number = float(value)
    except ValueError:
        number = None
    except OverflowError:
        number = math.inf
    if number is None:
        raise HookRequestError(f"expected a number, got {_kind(value)}", f"{path}.{key}")
    if not math.isfinite(number):
        raise HookRequestError(
            "expected a finite number, got NaN or infinity (or one too large to hold)",
            f"{path}.{key}",
        )
    return number


def opt_nonnegative(parent: JsonObject, key: str, path: str) -> float | None:
    """A finite number that is not negative: a dose, a frequency, a period, a quantity."""
    number = opt_num(parent, key, path)
    if number is not None and number < 0:
        raise HookRequestError("expected a number not below 0", f"{path}.{key}")
    return number


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
