"""dvc.yaml is checked against the code, so DVC can be trusted to rerun what changed.

- each stage's deps list exactly the modules under stages/ that its own module imports, transitively (sub-packages
  resolved: `from stages.text.legis import grammar` and `from stages.text.legis.grammar import X` both name
  stages/text/legis/grammar.py): a change to any of them reruns the stage, and a change to anything else does not;
- every `__init__.py` under stages/ is empty, so importing a module runs no other code and the deps stay exact;
- no stage module imports another stage module, and no library module (under a sub-package) imports a stage;
- no dependency of dataset, base, train or evaluate is an OCR module or mentions tesseract or OCR pages, so a
  change to the OCR code reruns ocr and clean only;
- the inter-stage paths dvc.yaml names are the ones stages/records/paths.py declares;
- the params a stage depends on are keys of params.yaml, and the run-time knobs (workers, concurrency,
  timeouts, retries, inference batch sizes) are not among them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from stages.records import paths as records

REPO = Path(__file__).resolve().parents[1]
STAGES_DIR = REPO / "stages"
DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))
STAGES = DVC_YAML["stages"]
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
# Keys that change how fast or how a run goes, never what it writes.
RUN_TIME_KNOBS = {
    "ocr.workers",
    "ocr.executor",
    "ocr.strict",
    "synth.concurrency",
    "synth.timeout_s",
    "synth.budget_s",
    "synth.stream",
    "synth.max_retries",
    "synth.retry_backoff_s",
    "synth.max_failure_rate",
    "evaluate.batch_size",
    "train.save_steps",
    "train.micro_batch",
}
# The stages downstream of the text: none of their dependencies may be OCR code.
MODEL_STAGES = ("dataset", "base", "train", "evaluate")
OCR_WORDS = re.compile(r"tesseract|OcrPage|OcrDocument|ocr_page", re.IGNORECASE)


def module_file(module: str) -> Path:
    """stages/a/b.py for the dotted name `a.b` (relative to stages/)."""
    return STAGES_DIR.joinpath(*module.split(".")).with_suffix(".py")


def stage_imports(module: str) -> set[str]:
    """Dotted names (relative to stages/) of the modules `module` imports anywhere in its file."""
    tree = ast.parse(module_file(module).read_text(encoding="utf-8"))
    found: set[str] = set()

    def add(dotted: str, names: list[str]) -> None:
        rel = dotted.removeprefix("stages").lstrip(".")
        if rel and module_file(rel).exists():
            found.add(rel)
            return
        for name in names:  # `from stages.pkg import module`
            sub = f"{rel}.{name}" if rel else name
            assert module_file(sub).exists(), f"stages/{module}: cannot resolve {dotted}.{name}"
            found.add(sub)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stages."):
                    add(alias.name, [])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "stages":
            add(node.module, [a.name for a in node.names])
    return found


def transitive_imports(module: str) -> set[str]:
    seen, todo = {module}, [module]
    while todo:
        for name in stage_imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def listed_modules(stage: str) -> set[str]:
    deps = [d if isinstance(d, str) else next(iter(d)) for d in STAGES[stage]["deps"]]
    return {
        d.removeprefix("stages/").removesuffix(".py").replace("/", ".")
        for d in deps
        if d.startswith("stages/") and d.endswith(".py")
    }


def stage_module(stage: str) -> str:
    cmd = STAGES[stage]["cmd"]
    assert cmd.startswith("python -m stages."), cmd
    return cmd.split("python -m stages.")[1].split()[0]


def library_modules() -> list[str]:
    return sorted(
        ".".join(p.relative_to(STAGES_DIR).with_suffix("").parts)
        for p in STAGES_DIR.glob("*/**/*.py")
        if p.name != "__init__.py"
    )


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_are_exactly_the_modules_the_stage_imports(stage: str) -> None:
    module = stage_module(stage)
    imported = transitive_imports(module)
    listed = listed_modules(stage)
    as_path = lambda m: "stages/" + m.replace(".", "/") + ".py"  # noqa: E731
    assert imported == listed, (
        f"dvc.yaml stage {stage}: add {sorted(map(as_path, imported - listed))}, "
        f"remove {sorted(map(as_path, listed - imported))}"
    )


def test_only_entry_points_sit_directly_in_stages() -> None:
    top = {p.stem for p in STAGES_DIR.glob("*.py")} - {"__init__"}
    assert top == {stage_module(s) for s in STAGES} | {"ask"}


def test_every_init_is_empty() -> None:
    for init in STAGES_DIR.rglob("__init__.py"):
        assert not init.read_text(encoding="utf-8").strip(), f"{init.relative_to(REPO)} must stay empty"


def test_no_stage_imports_another_stage() -> None:
    stage_modules = {stage_module(s) for s in STAGES}
    for module in sorted(stage_modules):
        others = (transitive_imports(module) - {module}) & stage_modules
        assert not others, f"stages/{module}.py imports the stage module(s) {sorted(others)}"


def test_no_library_module_imports_a_stage() -> None:
    top = {p.stem for p in STAGES_DIR.glob("*.py")} - {"__init__"}
    for module in library_modules():
        climbs = stage_imports(module) & top
        assert not climbs, f"stages/{module.replace('.', '/')}.py imports the entry point(s) {sorted(climbs)}"


@pytest.mark.parametrize("stage", MODEL_STAGES)
def test_model_stages_depend_on_no_ocr_code(stage: str) -> None:
    for module in sorted(transitive_imports(stage_module(stage))):
        assert not module.startswith("documents."), f"{stage} depends on the OCR module stages/{module}.py"
        text = module_file(module).read_text(encoding="utf-8")
        hit = OCR_WORDS.search(text)
        assert not hit, f"{stage} depends on stages/{module}.py, which mentions {hit.group(0)!r}"


def test_the_deps_check_catches_a_missing_transitive_module() -> None:
    # synth -> qa.rules.document -> text.legis.acts: the act grammar must be among synth's deps
    assert "text.legis.acts" in transitive_imports("synth") and "text.legis.acts" in listed_modules("synth")
    assert "documents.tesseract" in transitive_imports("ocr")


def _paths(stage: str, key: str) -> set[str]:
    entries = STAGES[stage].get(key, [])
    return {e if isinstance(e, str) else next(iter(e)) for e in entries}


def test_inter_stage_paths_match_records() -> None:
    wiring = [
        (records.OCR_DIR, "ocr", "clean"),
        (records.CLEAN_DIR, "clean", "chunk"),
        (records.CHUNKS_FILE, "chunk", "synth"),
        (records.QA_FILE, "synth", "dataset"),
        (records.TRAIN_FILE, "dataset", "train"),
        (records.EVAL_FILE, "dataset", "evaluate"),
        (records.BASE_MODEL_DIR, "base", "train"),
        (records.ADAPTER_DIR, "train", "evaluate"),
    ]
    for path, producer, consumer in wiring:
        assert str(path) in _paths(producer, "outs"), f"{producer} does not list {path} in its outs"
        assert str(path) in _paths(consumer, "deps"), f"{consumer} does not list {path} in its deps"
    assert str(records.PREDICTIONS_FILE) in _paths("evaluate", "outs")
    assert str(records.OCR_CACHE_DIR) in _paths("ocr", "outs")
    assert str(records.SYNTH_CACHE_DIR) in _paths("synth", "outs")
    for stage in STAGES:
        metrics = {m if isinstance(m, str) else next(iter(m)) for m in STAGES[stage].get("metrics", [])}
        assert all(not m.startswith(str(records.TIMINGS_DIR)) for m in metrics)


def _param_keys(stage: str) -> set[str]:
    out = set()
    for entry in STAGES[stage].get("params", []):
        out |= {entry} if isinstance(entry, str) else set(entry)
    return out


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_param_deps_exist_and_exclude_run_time_knobs(stage: str) -> None:
    for key in _param_keys(stage):
        section, _, name = key.partition(".")
        assert section in PARAMS and (not name or name in PARAMS[section]), (
            f"{stage}: {key} not in params.yaml"
        )
        assert name or not any(k.startswith(f"{section}.") for k in RUN_TIME_KNOBS), (
            f"{stage} depends on the whole [{section}] section, run-time knobs included: list its keys"
        )
        assert key not in RUN_TIME_KNOBS, f"{stage}: {key} changes no output and must not be a dep"


def test_every_output_changing_key_is_some_stages_dep() -> None:
    listed = set().union(*(_param_keys(s) for s in STAGES))
    whole = {k for k in listed if "." not in k}
    for section, values in PARAMS.items():
        for name in values:
            key = f"{section}.{name}"
            if key in RUN_TIME_KNOBS or section in whole:
                continue
            assert key in listed, f"params.yaml {key} is read by a stage but no stage depends on it"
