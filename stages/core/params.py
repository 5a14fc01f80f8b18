"""params.yaml read once into typed, validated objects (one error listing every problem)."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

# Every stage runs from the repository root (dvc.yaml's wdir); paths in params.yaml are relative to it.
PARAMS_FILE = Path(os.environ.get("PIPELINE_PARAMS", "params.yaml"))

P = TypeVar("P")


class ParamsError(ValueError):
    """params.yaml holds a value a stage cannot work with; the message lists every problem."""


def read_params_file(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole params.yaml as a dict (empty when the file is empty)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run the stage from the repository root") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path} must be a mapping of sections, got {type(data).__name__}")
    return data


def _coerce(name: str, value: Any, hint: Any) -> tuple[Any, str | None]:
    """Check one value against a dataclass field's type hint; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value, None
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None, None
        for arg in args:
            if arg is type(None):
                continue
            coerced, problem = _coerce(name, value, arg)
            if problem is None:
                return coerced, None
        return value, f"{name} has the wrong type: got {value!r}"
    if origin in (list, tuple):
        if isinstance(value, str):  # `-S lora.target_modules=all-linear` style
            value = [value]
        if not isinstance(value, (list, tuple)):
            return value, f"{name} must be a list, got {value!r}"
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        out = []
        for i, item in enumerate(value):
            coerced, problem = _coerce(f"{name}[{i}]", item, item_hint)
            if problem:
                return value, problem
            out.append(coerced)
        return (tuple(out) if origin is tuple else out), None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value), None
    if hint is bool and not isinstance(value, bool):
        return value, f"{name} must be true or false, got {value!r}"
    if isinstance(hint, type) and not isinstance(value, hint):
        return value, f"{name} must be {hint.__name__}, got {value!r}"
    if hint is int and isinstance(value, bool):
        return value, f"{name} must be int, got {value!r}"
    return value, None


def params_problems(
    section: str, cls: type[P], raw: Any, partial: bool = False
) -> tuple[P | None, list[str]]:
    """(params, problems) for one params.yaml section: unknown keys, wrong types and `cls.problems()`.

    `partial=True` reads a view of a section another stage owns (evaluate reads two keys of [train]): keys
    the view does not declare are left to their owner instead of being reported as unknown.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, [f"{section} must be a mapping of keys, got {raw!r:.60}"]
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [] if partial else sorted(set(raw) - fields)
    problems = [
        f"{section}.{k} is not a known parameter (known: {', '.join(sorted(fields))})" for k in unknown
    ]
    kwargs: dict[str, Any] = {}
    for name in fields & set(raw):
        value, problem = _coerce(f"{section}.{name}", raw[name], hints[name])
        if problem:
            problems.append(problem)
        else:
            kwargs[name] = value
    if problems:
        return None, problems
    params = cls(**kwargs)
    checker = getattr(params, "problems", None)
    problems = list(checker()) if checker is not None else []
    return (None, problems) if problems else (params, [])


def build_params(section: str, cls: type[P], raw: dict[str, Any] | None, partial: bool = False) -> P:
    """One section's typed params from its raw mapping; one ParamsError listing every problem."""
    params, problems = params_problems(section, cls, raw, partial)
    if problems:
        raise ParamsError(f"params.yaml [{section}]: " + "; ".join(problems))
    assert params is not None
    return params


def load_params(section: str, cls: type[P], *, partial: bool = False, path: Path | None = None) -> P:
    """Read params.yaml once and return its `section` as a checked `cls` instance (ParamsError otherwise)."""
    return build_params(section, cls, read_params_file(path or PARAMS_FILE).get(section), partial)


def with_overlay(raw: Any, cls: type, overlay: dict[str, Any]) -> Any:
    """`raw` (one section) with `overlay`'s value for each key that `raw` leaves at `cls`'s default (absent, or
    equal to it): a value set in params.yaml, or with `dvc exp run -S`, wins over the overlay."""
    if not overlay or (raw is not None and not isinstance(raw, dict)):
        return raw  # a malformed section is reported by params_problems as it is
    out = dict(raw or {})
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key, value in overlay.items():
        default = defaults.get(key, dataclasses.MISSING)
        current = out.get(key, default)
        if isinstance(default, tuple) and isinstance(current, list):
            current = tuple(current)
        if key not in out or current == default:
            out[key] = value
    return out


def load_sections(
    sections: dict[str, type],
    *,
    partial: tuple[str, ...] = (),
    path: Path | None = None,
    overlays: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Several sections read at once (train reads model, lora and train): (params by section, problems).

    `overlays` (a preset, stages/model/presets.py) give values to the keys a section leaves at their defaults.
    A section with problems maps to None. The caller adds its own checks to the problems and raises one
    ParamsError with all of them (`raise_problems`).
    """
    raw = read_params_file(path or PARAMS_FILE)
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for name, cls in sections.items():
        section = with_overlay(raw.get(name), cls, (overlays or {}).get(name, {}))
        params, found = params_problems(name, cls, section, partial=name in partial)
        parsed[name] = params
        problems += found
    return parsed, problems


def raise_problems(what: str, problems: list[str]) -> None:
    """One ParamsError listing every problem, when there are any."""
    if problems:
        raise ParamsError(f"{what}: " + "; ".join(problems))
