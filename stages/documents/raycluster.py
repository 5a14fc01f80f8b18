"""The Ray executor (`ocr.executor: ray`): the stage's process is the Ray driver, PDFs and pages are Ray tasks.

Cluster: the one RAY_ADDRESS names (`ray start --head` on one machine, `ray start --address ...` on the others),
or, when it is unset, a cluster of this machine started in the stage's process (`ocr.workers` CPUs, 0 = all
cores) and stopped when the stage ends. Tasks take one CPU each; tesseract runs single-threaded in them.

What each node needs: the project's Python packages (`pip install '.[ray]'`), tesseract with the same language
data, poppler and the same word lists (`make setup`), and the PDFs at the same absolute path (a shared
filesystem). The driver ships its own stages/ package with every task (runtime_env py_modules), so every node
runs the driver's code. Before any work one task on each node (node-affinity scheduling) reports what it would
read pages with; the stage stops with one error naming each node that lacks something or differs from the rest,
since the cache key names one tesseract version and one lexicon for every page.

Only the driver touches data/ocr, the cache and the metrics: tasks return hashes, text-layer readings and page
records. A task whose worker process or node dies is run again (PAGE_RETRIES times); the driver receives one
result per task, so no page is lost or counted twice. A page whose retries are spent is a failed page, listed
and not cached, like one tesseract failed on.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import ray
from ray.exceptions import (
    LocalRayletDiedError,
    NodeDiedError,
    ObjectLostError,
    OutOfMemoryError,
    RayTaskError,
    RuntimeEnvSetupError,
    WorkerCrashedError,
)
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import stages
from stages.documents.executors import Setup, available_cores
from stages.documents.page import PageRead, PageTask, ocr_page
from stages.documents.settings import OcrParams
from stages.documents.tesseract import INSTALL_HINT, Installed, OcrSetupError, installed, setup_problems
from stages.text.lexicon import load_lexicon

log = logging.getLogger(__name__)

R = TypeVar("R")

PAGE_RETRIES = 3  # runs of a task after the first when its worker process or node dies (Ray's max_retries)
NODE_CHECK_TIMEOUT_S = 300  # a node that has not answered the setup check by then stops the stage
IN_FLIGHT_PER_CPU = (
    2  # page tasks submitted per cluster CPU: the next page waits in every slot, memory bounded
)
# The Python packages whose version can change a page's text (pyspellchecker: the lexicon's word list)
PACKAGES = ("numpy", "pillow", "pypdfium2", "pytesseract", "pdf2image", "rapidfuzz", "pyspellchecker")
# The job's: one tesseract thread per task; the driver's own code on every node
RUNTIME_ENV = {
    "py_modules": [str(Path(stages.__file__).parent)],
    "excludes": ["__pycache__"],
    "env_vars": {"OMP_THREAD_LIMIT": "1"},
}
# Failures of the machine rather than of the page: Ray retries these; when the retries are spent, the page fails
LOST = (WorkerCrashedError, NodeDiedError, ObjectLostError, OutOfMemoryError, LocalRayletDiedError)


@dataclass(frozen=True)
class NodeSetup:
    """What one node reads pages with (node_setup)."""

    installed: Installed
    traineddata: dict[
        str, str
    ]  # language -> sha256 prefix of its .traineddata (the languages asked, and osd)
    lexicon: tuple[str, ...]  # Lexicon.sources
    packages: dict[str, str]  # PACKAGES -> version ("" when missing)
    probe_bytes: int  # size of the probe PDF as this node sees it; -1 when it cannot open it

    def compared(self) -> dict[str, str]:
        """What must be the same on every node (the full language list aside: an extra pack changes nothing)."""
        return {
            "tesseract": self.installed.tesseract,
            "language data": ", ".join(f"{k} {v}" for k, v in sorted(self.traineddata.items())) or "none",
            "pdftoppm": self.installed.pdftoppm,
            "lexicon": ", ".join(self.lexicon),
            "packages": ", ".join(f"{k} {v or 'missing'}" for k, v in sorted(self.packages.items())),
        }


def traineddata_hashes(folder: str, codes: list[str]) -> dict[str, str]:
    """sha256 prefixes of `folder`/<code>.traineddata for the codes that have one."""
    hashes = {}
    for code in codes:
        path = Path(folder) / f"{code}.traineddata"
        if path.is_file():
            hashes[code] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return hashes


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def node_setup(lang: str, probe: str) -> NodeSetup:
    """What this node reads pages with. Runs as a task on each node (and loads the lexicon into that worker)."""
    found = installed()
    codes = [*lang.split("+"), "osd"]
    try:
        probe_bytes = os.path.getsize(probe) if probe else -1
    except OSError:
        probe_bytes = -1
    return NodeSetup(
        found,
        traineddata_hashes(found.tessdata, codes) if found.tessdata else {},
        load_lexicon().sources,
        {name: package_version(name) for name in PACKAGES},
        probe_bytes,
    )


def node_label(node: dict[str, Any]) -> str:
    """A node as people name it: its name (or address) and the start of its id."""
    name = node.get("NodeName") or node.get("NodeManagerAddress", "?")
    address = node.get("NodeManagerAddress", "")
    where = f"{name} ({address}, " if address and address != name else f"{name} ("
    return f"{where}id {node['NodeID'][:8]})"


def cluster_problems(
    reports: dict[str, NodeSetup], labels: dict[str, str], head: str, lang: str, probe: str, probe_bytes: int
) -> tuple[list[str], str]:
    """(the problems of a cluster's setup reports, one line per node; the id of the node whose setup the run
    uses). Every node must have what reading needs, see the probe PDF as the driver does, and have the setup
    most nodes have (on a tie, the head node's)."""
    problems = []
    for node, report in reports.items():
        lacks = setup_problems(report.installed, lang)
        if report.probe_bytes != probe_bytes:
            lacks.append(
                f"it cannot read {probe} as the driver does (the PDFs must be at the same path on every node: "
                "a shared filesystem)"
            )
        if lacks:
            problems.append(f"node {labels[node]}: " + "; ".join(lacks))
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for node, report in reports.items():
        groups.setdefault(tuple(report.compared().items()), []).append(node)
    ranked = sorted(groups.values(), key=lambda nodes: (-len(nodes), head not in nodes, labels[nodes[0]]))
    reference = ranked[0][0]
    expected = reports[reference].compared()
    for nodes in ranked[1:]:
        for node in nodes:
            differs = [
                f"{field} {value!r} where the others have {expected[field]!r}"
                for field, value in reports[node].compared().items()
                if value != expected[field]
            ]
            problems.append(f"node {labels[node]} differs: " + "; ".join(differs))
    return problems, reference


class RayExecutor:
    """A Ray cluster: hashing, text layers and pages as tasks; results come back to this process."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.cpus = 0
        self.started = not ray.is_initialized()  # a connection the caller opened is used as it is, and kept
        if self.started:
            address = os.environ.get("RAY_ADDRESS") or "local"
            local = {"num_cpus": workers or available_cores(), "include_dashboard": False}
            try:
                ray.init(
                    address=address,
                    runtime_env=RUNTIME_ENV,
                    logging_level=logging.WARNING,
                    **(local if address == "local" else {}),
                )
            except ConnectionError as e:
                raise OcrSetupError(f"cannot reach the Ray cluster at RAY_ADDRESS={address}: {e}") from None
            log.info(
                "ray: %s", "a cluster of this machine" if address == "local" else f"the cluster at {address}"
            )

    def setup(self, p: OcrParams, probe: str) -> Setup:
        nodes = [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) >= 1]
        if not nodes:
            raise OcrSetupError("the Ray cluster has no node with a CPU to read pages on")
        labels = {n["NodeID"]: node_label(n) for n in nodes}
        head = next((n["NodeID"] for n in nodes if "node:__internal_head__" in n["Resources"]), "")
        check = ray.remote(node_setup)
        refs = {
            check.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(
                p.lang, probe
            ): n["NodeID"]
            for n in nodes
        }
        _, waiting = ray.wait(list(refs), num_returns=len(refs), timeout=NODE_CHECK_TIMEOUT_S)
        if waiting:
            late = ", ".join(labels[refs[r]] for r in waiting)
            raise OcrSetupError(f"node(s) {late} did not answer the setup check in {NODE_CHECK_TIMEOUT_S} s")
        reports = {}
        for ref, node in refs.items():
            try:
                reports[node] = ray.get(ref)
            except (RuntimeEnvSetupError, RayTaskError, *LOST) as e:  # e.g. a package missing there
                raise OcrSetupError(f"node {labels[node]} failed the setup check: {first_line(e)}") from None
        expected = os.path.getsize(probe) if probe else -1
        problems, reference = cluster_problems(reports, labels, head, p.lang, probe, expected)
        if problems:
            raise OcrSetupError(
                f"OCR cannot start on the Ray cluster ({len(nodes)} nodes): " + " | ".join(problems)
                + f"; {INSTALL_HINT} on every node, the same versions on all"
            )  # fmt: skip
        if "osd" not in reports[reference].traineddata:
            log.warning(
                "tesseract has no orientation data (apt package tesseract-ocr-osd): sideways pages stay sideways"
            )
        self.cpus = int(sum(n["Resources"]["CPU"] for n in nodes))
        log.info(
            "ray: %d nodes checked, %d CPUs, %s",
            len(nodes),
            self.cpus,
            reports[reference].installed.tesseract,
        )
        return Setup(reports[reference].installed.tesseract, reports[reference].lexicon)

    def map(self, fn: Callable[..., R], items: list[Any], *shared: Any) -> list[R]:
        remote = ray.remote(fn).options(max_retries=PAGE_RETRIES)
        shared_refs = [ray.put(value) for value in shared]
        return ray.get([remote.remote(item, *shared_refs) for item in items])

    def read(self, tasks: list[PageTask]) -> Iterator[PageRead]:
        remote = ray.remote(ocr_page).options(max_retries=PAGE_RETRIES)
        in_flight = max(1, self.workers or IN_FLIGHT_PER_CPU * self.cpus)
        queue = iter(tasks)
        pending: dict[ray.ObjectRef, PageTask] = {}
        while True:
            while len(pending) < in_flight and (task := next(queue, None)) is not None:
                pending[remote.remote(task)] = task
            if not pending:
                return
            [ready], _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(ready)
            try:
                read = ray.get(ready)
            except LOST as e:  # retries spent: the page fails as one tesseract failed on
                read = PageRead(task.doc, task.page, None, f"{type(e).__name__}: {first_line(e)}")
            yield read

    def slots(self, tasks: int) -> int:
        return min(self.workers or self.cpus, tasks)

    def close(self) -> None:
        if self.started:
            ray.shutdown()


def first_line(error: BaseException) -> str:
    """An exception's message squashed onto one line (Ray's run to many)."""
    return " ".join(str(error).split())[:300]
