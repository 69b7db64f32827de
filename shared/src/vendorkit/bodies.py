"""One strict reader of request bodies and query/form values, shared by every service.

Each check fails with :class:`MalformedInput`, whose ``reason`` is a fixed, machine-readable
word; a service maps reasons to its vendor's envelope and wording. The checks run in a fixed
order (size, UTF-8, syntax and depth, strings, top-level type) so that a body with several
faults is refused the same way by every service that shares a wording.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

# Vendor payloads nest a few levels; a deeper document is an attack, not a request.
DEFAULT_MAX_DEPTH = 64
# Longer integer literals cost quadratic time to convert (CPython caps them at 4300 digits).
MAX_INTEGER_DIGITS = 100

TOO_LARGE = "too_large"
NOT_UTF8 = "not_utf8"
SYNTAX = "syntax"
TOO_DEEP = "too_deep"
NAN = "nan"
HUGE_NUMBER = "huge_number"
DUPLICATE_KEY = "duplicate_key"
LONE_SURROGATE = "lone_surrogate"
NUL = "nul"
CONTROL = "control"
NOT_OBJECT = "not_object"

REASONS = frozenset(
    {
        TOO_LARGE,
        NOT_UTF8,
        SYNTAX,
        TOO_DEEP,
        NAN,
        HUGE_NUMBER,
        DUPLICATE_KEY,
        LONE_SURROGATE,
        NUL,
        CONTROL,
        NOT_OBJECT,
    }
)


# What may put a forbidden character in a decoded string; without it the strings need no look.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CONTROL_SOURCE = re.compile(r"\\(?:[bfnrt]|u00[0-189][0-9a-fA-F]|u007[fF])|[\x7f-\x9f]")


class MalformedInput(ValueError):
    """A body or value refused before any field is looked at; ``reason`` says why, ``detail`` to whom."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_json(
    raw: bytes,
    *,
    max_bytes: int | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    allow_nan: bool = False,
    allow_duplicate_keys: bool = True,
    allow_lone_surrogates: bool = False,
    allow_nul: bool = True,
    allow_controls: bool = True,
    require_object: bool = False,
    strip_bom: bool = False,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """The JSON document in ``raw``, or :class:`MalformedInput` naming the first rule it breaks.

    ``allow_nan`` also governs numbers that overflow to infinity (``1e999``). NUL and C0
    controls reach a string only through escapes (raw ones are syntax errors), DEL and C1
    controls also raw; both are allowed by default because most services refuse them per field.
    ``object_pairs_hook`` replaces the dict built for each object (duplicate keys then reach it).
    """
    if max_bytes is not None and len(raw) > max_bytes:
        raise MalformedInput(TOO_LARGE, f"The body is larger than {max_bytes} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInput(NOT_UTF8, "The body is not UTF-8 text.") from None
    if strip_bom:
        text = text.removeprefix("\ufeff")
    hook = object_pairs_hook
    if hook is None and not allow_duplicate_keys:
        hook = _object_without_duplicates
    try:
        document = json.loads(
            text,
            parse_constant=_refuse_constant if not allow_nan else None,
            parse_float=_finite_float if not allow_nan else float,
            parse_int=_bounded_int,
            object_pairs_hook=hook,
        )
    except MalformedInput:
        raise
    except RecursionError:
        raise MalformedInput(TOO_DEEP, "The body nests too deeply.") from None
    except ValueError as exc:
        raise MalformedInput(SYNTAX, f"The body is not valid JSON ({exc}).") from None
    # Fewer brackets than levels allowed cannot nest too deep: most bodies skip the walk.
    if text.count("[") + text.count("{") > max_depth and _nests_deeper(document, max_depth):
        raise MalformedInput(TOO_DEEP, f"The body nests more than {max_depth} levels deep.")
    check_surrogates = not allow_lone_surrogates and _SURROGATE_ESCAPE.search(text) is not None
    check_nul = not allow_nul and "\\u0000" in text
    check_controls = not allow_controls and _CONTROL_SOURCE.search(text) is not None
    if check_surrogates or check_nul or check_controls:
        _check_strings(
            document,
            allow_lone_surrogates=not check_surrogates,
            allow_nul=not check_nul,
            allow_controls=not check_controls,
        )
    # Whatever a hook builds, the document is an object exactly when its text opens with a brace.
    if require_object and not text.lstrip(" \t\n\r").startswith("{"):
        raise MalformedInput(NOT_OBJECT, "The body must be a JSON object.")
    return document


def text_problem(value: str, *, allow_controls: bool = False) -> str | None:
    """The reason ``value`` (a query or form value) cannot be used as text, or None if it can."""
    if "\x00" in value:
        return NUL
    if not allow_controls and any(_is_control(char) for char in value):
        return CONTROL
    if _has_lone_surrogate(value):
        return LONE_SURROGATE
    return None


def _is_control(char: str) -> bool:
    # C0 and C1 controls and DEL; tab, newline and carriage return are controls too.
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refuse_constant(name: str) -> Any:
    raise MalformedInput(NAN, f"{name} is not a JSON number.")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise MalformedInput(NAN, f"{literal[:20]} is too large for a JSON number.")
    return number


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise MalformedInput(HUGE_NUMBER, f"An integer has more than {MAX_INTEGER_DIGITS} digits.")
    return int(literal)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise MalformedInput(DUPLICATE_KEY, f"The key {key!r} is given more than once.")
        document[key] = value
    return document


def _nests_deeper(document: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest more than ``max_depth`` levels (walked level by level)."""
    level = [document] if isinstance(document, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below = []
        for container in level:
            for child in container.values() if isinstance(container, dict) else container:
                # A pair kept by an ``object_pairs_hook``: its value is a level down.
                if isinstance(child, tuple):
                    child = child[1]
                if isinstance(child, dict | list):
                    below.append(child)
        level = below
    return False


def _check_strings(
    document: Any, *, allow_lone_surrogates: bool, allow_nul: bool, allow_controls: bool
) -> None:
    """Every key and string value against the string rules, without recursion."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _check_string(item, allow_lone_surrogates, allow_nul, allow_controls)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):  # tuples: the pairs an ``object_pairs_hook`` may keep
            pending.extend(item)


def _check_string(text: str, allow_lone_surrogates: bool, allow_nul: bool, allow_controls: bool) -> None:
    if not allow_nul and "\x00" in text:
        raise MalformedInput(NUL, "A string holds a NUL character.")
    if not allow_controls and any(_is_control(char) for char in text):
        raise MalformedInput(CONTROL, "A string holds a control character.")
    if not allow_lone_surrogates and _has_lone_surrogate(text):
        raise MalformedInput(LONE_SURROGATE, "A string holds an unpaired surrogate.")
