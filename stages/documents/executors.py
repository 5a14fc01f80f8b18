"""Where the ocr stage's work runs (`ocr.executor`): this machine here, or a Ray cluster (raycluster.py);
corpus.open_executor picks one.

The stage's process plans the run and writes every output; an executor runs its three kinds of work: hashing a
PDF and reading its text layers (`map`, results in input order) and reading pages (`read`, results as they
finish). Both executors run the same functions on the same inputs, so their outputs are byte-identical; which
one ran is no DVC param.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from stages.documents.page import PageRead, PageTask, ocr_page
from stages.documents.settings import OcrParams
from stages.documents.tesseract import init_worker, preflight
from stages.text.lexicon import load_lexicon

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Setup:
    """What every page is read with, as the cache key names it."""

    tesseract: str  # `tesseract --version`'s first line
    lexicon_sources: tuple[str, ...]  # Lexicon.sources


class Executor(Protocol):
    def setup(self, p: OcrParams, probe: str) -> Setup:
        """Check what reads the pages (`probe`: a PDF every worker must be able to open); raise OcrSetupError."""
        ...

    def map(self, fn: Callable[..., R], items: list[Any], *shared: Any) -> list[R]:
        """fn(item, *shared) for each item, in order."""
        ...

    def read(self, tasks: list[PageTask]) -> Iterator[PageRead]:
        """Each task's PageRead, in the order they finish."""
        ...

    def slots(self, tasks: int) -> int:
        """How many of `tasks` run at once."""
        ...


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class LocalExecutor:
    """This machine: PDFs hashed and their text layers read in this process, pages in a pool of processes."""

    def __init__(self, workers: int) -> None:
        self.cores = workers or available_cores()

    def setup(self, p: OcrParams, probe: str) -> Setup:
        version = preflight(p.lang)
        lexicon = load_lexicon()  # before the pool: the forked workers share it
        return Setup(version, lexicon.sources)

    def map(self, fn: Callable[..., R], items: list[Any], *shared: Any) -> list[R]:
        return [fn(item, *shared) for item in items]

    def read(self, tasks: list[PageTask]) -> Iterator[PageRead]:
        with ProcessPoolExecutor(max_workers=self.slots(len(tasks)), initializer=init_worker) as pool:
            for done in as_completed([pool.submit(ocr_page, t) for t in tasks]):
                yield done.result()

    def slots(self, tasks: int) -> int:
        return min(self.cores, tasks)
