"""Records as frozen dataclasses: checked on the way in (from_dict), byte-stable on the way out (to_dict)."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------
class RecordError(ValueError):
    """A record read from an inter-stage file lacks a declared field or holds the wrong type."""


R = TypeVar("R")


def _check(value: Any, hint: Any) -> bool:
    """Is `value` (parsed JSON) of type `hint`? Lists are checked item by item; ints pass for floats."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_check(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_check(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, dict)
    return isinstance(value, hint)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type hint, required) of each field of a record class: resolved once per class, not per record
    (typing.get_type_hints evaluates every annotation string; it was most of the time of reading a file)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )


def from_dict(cls: type[R], data: Any) -> R:
    """`cls` built from a parsed JSON object; RecordError names the first missing or mistyped field."""
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object for a {cls.__name__}, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for name, hint, required in _fields(cls):
        if name not in data:
            if required:
                raise RecordError(f"{cls.__name__} lacks the field {name!r}")
            continue
        value = data[name]
        if not _check(value, hint):
            raise RecordError(f"{cls.__name__}.{name} has the wrong type: {value!r:.80}")
        if typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            if dataclasses.is_dataclass(item):
                value = [from_dict(item, v) for v in value]
        kwargs[name] = value
    return cls(**kwargs)


def to_dict(record: Any) -> dict[str, Any]:
    """The record as a JSON-ready dict, fields in declaration order (so outputs are byte-stable)."""
    return dataclasses.asdict(record)
