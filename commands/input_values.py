"""Values read from a user's file (an import line, a configuration), checked for what no
store can hold, before anything is recorded.

A store refuses, or is broken by, some values that JSON and TOML can express: a NUL character
(PostgreSQL text cannot hold one, so a read model built from it fails for good), a lone
surrogate (not text: the event cannot be encoded), NaN and Infinity, integers beyond 64 bits,
and structures nested deeper than anyone's data (the encoders recurse). Each is refused
here, naming where it was, so that a file that passes validation is one the save accepts."""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # levels of objects and arrays
MAX_NUMBER_CHARS = 100  # a number literal's length (digits, sign, point, exponent)
INT_RANGE = (-(2**63), 2**63 - 1)

Path = tuple[str | int, ...]

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


class InputValueError(ValueError):
    """A value no store takes; `path` is where (keys and list indexes), `reason` why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        where = shown_path(path)
        super().__init__(f"{where}: {reason}" if where else reason)


def shown_path(path: Path) -> str:
    """`fields.title`, `steps.0.name`; a deep one cut short (`fields.n.0.0.0...`)."""
    parts = [str(part) for part in path]
    return ".".join(parts) if len(parts) <= 6 else ".".join(parts[:5]) + "..."


class _Refused:
    """A number the parser met and refused; reported with its place once the walk finds it."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _shown(literal: str) -> str:
    digits = sum(c.isdigit() for c in literal)
    return literal if len(literal) <= 24 else f"a number of {digits} digits"


def refused_int(literal: str) -> int | _Refused:
    if len(literal) <= 18:  # fits whatever its value: skip the range check
        return int(literal)
    if len(literal) <= MAX_NUMBER_CHARS:
        value = int(literal)
        if INT_RANGE[0] <= value <= INT_RANGE[1]:
            return value
    return _Refused(f"{_shown(literal)} is too large (whole numbers must fit in 64 bits)")


def refused_float(literal: str) -> float | _Refused:
    if len(literal) > MAX_NUMBER_CHARS:
        return _Refused(f"{_shown(literal)} is too long (at most {MAX_NUMBER_CHARS} "
                        "characters)")
    value = float(literal)
    if not math.isfinite(value):
        return _Refused(f"{_shown(literal)} is out of range")
    return value


def refused_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a number (NaN and Infinity are not allowed)")


class _NumberRefused(Exception):
    """Raised by the fast parse at a refused number; the slow one then says where it is."""


def _strict(hook: Any) -> Any:
    def strict(literal: str) -> Any:
        value = hook(literal)
        if isinstance(value, _Refused):
            raise _NumberRefused
        return value
    return strict


# Built once (json.loads with hooks builds a decoder each call). The fast one refuses a number
# by raising; the slow one keeps the refusal in the value, for `check` to find its place.
_FAST = json.JSONDecoder(parse_int=_strict(refused_int), parse_float=_strict(refused_float),
                         parse_constant=_strict(refused_constant))
_SLOW = json.JSONDecoder(parse_int=refused_int, parse_float=refused_float,
                         parse_constant=refused_constant)
# A NUL or a surrogate reaches a JSON string only as a \u escape: a decoded file holds no
# surrogate, and the parser refuses raw control characters.
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def load_json(text: str, checked: bool = True) -> Any:
    """json.loads, refusing what `check` refuses. JSONDecodeError as json.loads raises it.
    Not `checked`: the caller runs `check` on the value (refused numbers stay in it)."""
    try:
        # Each level of nesting opens a bracket: a text with few is never too deep.
        if checked and text.count("[") + text.count("{") <= MAX_DEPTH:
            try:
                value = _FAST.decode(text)
            except _NumberRefused:
                pass
            else:
                if "\\u" in text and _ESCAPE.search(text):
                    check(value)
                return value
        value = _SLOW.decode(text)
    except RecursionError:
        raise InputValueError((), f"nested more than {MAX_DEPTH} levels deep") from None
    if checked:
        check(value)
    return value


def check(value: Any, path: Path = ()) -> None:
    """Raise InputValueError at the first value no store takes (see the module's doc)."""
    stack: list[tuple[Any, Path, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT_RANGE[0] <= item <= INT_RANGE[1]:
                raise InputValueError(where, "a number too large (whole numbers must fit "
                                             "in 64 bits)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InputValueError(where, f"{item} is not a number that can be stored "
                                             "(NaN and Infinity are not allowed)")
        elif isinstance(item, _Refused):
            raise InputValueError(where, item.reason)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise InputValueError(where, f"nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                children = []
                for key, child in item.items():
                    if isinstance(key, str):
                        _check_text(key, where, key=True)
                    children.append((child, (*where, key), depth + 1))
            else:
                children = [(child, (*where, i), depth + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))  # the first problem in reading order


def _check_text(text: str, where: Path, key: bool = False) -> None:
    found = _BAD_CHARACTER.search(text)
    if found is None:
        return
    what = "a key" if key else "the text"
    char = found.group()
    if char == "\x00":
        raise InputValueError(where, f"{what} contains a NUL character (\\u0000), which a "
                                     "store cannot hold")
    raise InputValueError(where, f"{what} contains a lone surrogate (\\u{ord(char):04x}), "
                                 "which is not text")
