"""How a stage starts and ends: logging, exit codes, missing inputs."""

from __future__ import annotations

import logging
import os
import sys
import typing
from pathlib import Path

from stages.core.params import ParamsError

log = logging.getLogger(__name__)

EXIT_PARAMS = 2  # a bad value in params.yaml (or on the command line)
EXIT_NO_INPUT = 66  # an input another stage writes is missing (sysexits.h EX_NOINPUT)


class MissingInputError(FileNotFoundError):
    """An input that another stage writes is missing; the message names it and the command that makes it."""

    def __init__(self, path: Path | str, stage: str, what: str = "not found") -> None:
        super().__init__(f"{path} {what}: run `dvc repro {stage}` first")
        self.path, self.stage = Path(path), stage


def require_input(path: Path, stage: str) -> Path:
    """`path` when it exists, else MissingInputError telling the user to run `stage` (exit 66 via run_main)."""
    if not Path(path).exists():
        raise MissingInputError(path, stage)
    return path


def setup_logging() -> None:
    """One format for every stage; LOGLEVEL=DEBUG for more."""
    logging.basicConfig(
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run_main(fn: typing.Callable[[], None]) -> None:
    """Entry point wrapper: logging set up; a params problem (exit 2) or a missing input (exit 66) is one
    clear line, never a traceback."""
    setup_logging()
    try:
        fn()
    except ParamsError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_PARAMS) from None
    except MissingInputError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_NO_INPUT) from None
