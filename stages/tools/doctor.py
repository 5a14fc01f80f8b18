"""`legis-lora doctor`: is this machine set up to run the pipeline? One line per check, like `dvc doctor`.

Required (FAIL, exit 1): tesseract 4+ with the ocr.lang packs, poppler's pdftoppm, pyspellchecker's Portuguese
list, torch. Advisory (warn): tesseract's osd pack (sideways pages stay sideways without it), Debian's
wbrazilian/wportuguese lists (the lexicon is smaller, and the ocr cache key differs from a full install), a
torch that cannot see an NVIDIA GPU the machine has, and the LM Studio / OpenAI-compatible server at
synth.base_url (only synth.backend: lmstudio and evaluate.judge use one; the default rules backend does not).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytesseract

from stages.core.params import ParamsError, load_params
from stages.documents.settings import OcrParams
from stages.documents.tesseract import INSTALL_HINT, tesseract_major
from stages.qa.client import ChatClient, ModelInfo, ServerUnavailable, api_key_from_env, resolve_model
from stages.qa.settings import SynthParams
from stages.text import lexicon

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "FAIL"
COMMAND_TIMEOUT_S = 20.0  # `tesseract --list-langs` and friends answer in well under a second
SERVER_TIMEOUT_S = 2.0  # a local server answers /models in milliseconds; a closed port fails at once
START_SERVER_HINT = (
    "start LM Studio's server (Developer tab > Start server, or `lms server start`) and load a model; "
    "needed only for synth.backend: lmstudio or evaluate.judge: true"
)
TORCH_HINT = (
    "install it with `make torch` (scripts/install_torch.py: the CPU build when there is no NVIDIA GPU)"
)
DEBIAN_LISTS = {"brazilian": "wbrazilian", "portuguese": "wportuguese"}  # /usr/share/dict file -> apt package


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | FAIL
    detail: str
    hint: str = ""  # what to do about a warn or a FAIL


def _output(cmd: list[str]) -> str:
    """stdout and stderr of a command that is on PATH (pdftoppm -v writes to stderr)."""
    log.debug("running %s", " ".join(cmd))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:  # not executable, or hung: nothing read
        log.warning("%s failed: %s", " ".join(cmd), e)
        return ""
    return done.stdout + done.stderr


def check_tesseract(cmd: str) -> Check:
    """tesseract on PATH, and new enough for the LSTM engine the ocr stage asks for (--oem 1)."""
    path = shutil.which(cmd)
    if path is None:
        return Check("tesseract", FAIL, f"{cmd!r} is not on PATH", INSTALL_HINT)
    version = (_output([cmd, "--version"]).splitlines() or ["?"])[0]
    major = tesseract_major(version)
    if major == 0:
        return Check("tesseract", WARN, f"{path}: cannot read a version from {version!r}", INSTALL_HINT)
    if major < 4:
        return Check(
            "tesseract", FAIL, f"{version} at {path}: the LSTM engine needs tesseract 4+", INSTALL_HINT
        )
    note = "" if major >= 5 else " (no Sauvola binarization before 5: uneven scans are normalized instead)"
    return Check("tesseract", OK, f"{version} at {path}{note}")


def check_languages(cmd: str, lang: str) -> list[Check]:
    """One check per pack in ocr.lang (required) and for osd (page orientation; advisory)."""
    listed = _output([cmd, "--list-langs"]).split() if shutil.which(cmd) else None
    checks = []
    for code in [*lang.split("+"), "osd"]:
        required = code != "osd"
        install = f"sudo apt-get install tesseract-ocr-{code.lower().replace('_', '-')}"
        name = f"tesseract lang {code}"
        if listed is None:
            checks.append(Check(name, FAIL if required else WARN, "tesseract is not on PATH", install))
        elif code in listed:
            checks.append(Check(name, OK, "installed"))
        elif required:
            checks.append(Check(name, FAIL, "not installed", install))
        else:
            checks.append(Check(name, WARN, "not installed: sideways pages stay sideways", install))
    return checks


def check_poppler() -> Check:
    """pdftoppm, which pdf2image calls to render scanned pages."""
    path = shutil.which("pdftoppm")
    if path is None:
        return Check("poppler (pdftoppm)", FAIL, "pdftoppm is not on PATH", INSTALL_HINT)
    version = next((line for line in _output(["pdftoppm", "-v"]).splitlines() if "version" in line), "?")
    return Check("poppler (pdftoppm)", OK, f"{version} at {path}")


def check_lexicon() -> Check:
    """The lexicon the ocr and clean stages load: pyspellchecker's Portuguese list plus the Debian lists."""
    try:
        loaded = lexicon.load_lexicon()
    except ModuleNotFoundError as e:
        log.debug("%s", e)
        return Check("lexicon", FAIL, "cannot load pyspellchecker's Portuguese list", lexicon.INSTALL_HINT)
    return Check("lexicon", OK, f"{len(loaded.counts):,} words ({', '.join(loaded.sources)})")


def check_word_list(path: Path) -> Check:
    """One of Debian's word lists the lexicon adds when it is installed."""
    name = f"word list {path}"
    if path.is_file():
        return Check(name, OK, "installed")
    package = DEBIAN_LISTS.get(path.name, path.name)
    return Check(
        name,
        WARN,
        "not installed: fewer Brazilian forms known (seção, pedágio), another ocr cache key",
        f"sudo apt-get install {package}",
    )


def check_torch() -> list[Check]:
    """torch importable (train, evaluate, ask), and whether it sees a CUDA GPU."""
    try:
        import torch
    except ImportError as e:
        return [Check("torch", FAIL, f"cannot import torch ({e})", TORCH_HINT)]
    checks = [Check("torch", OK, torch.__version__)]
    if torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        checks.append(Check("cuda", OK, f"CUDA {torch.version.cuda}: {', '.join(gpus)}"))
    elif shutil.which("nvidia-smi"):
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        checks.append(
            Check(
                "cuda",
                WARN,
                f"nvidia-smi is here but torch ({build}) sees no GPU: training runs on the CPU",
                "install a CUDA build of torch (`pip install torch` from PyPI), or check the driver with nvidia-smi",
            )
        )
    else:
        checks.append(Check("cuda", OK, "no CUDA GPU: training and ask run on the CPU"))
    return checks


def describe_models(models: list[ModelInfo]) -> str:
    """What a server holds: the loaded models when it reports load state (LM Studio), else every id."""
    if any(m.state for m in models):
        loaded = [m for m in models if m.state == "loaded"]
        listing = ", ".join(f"{m.id} ({m.type or '?'}, context {m.max_context or '?'})" for m in loaded)
        return f"loaded: {listing or 'none'}; {len(models)} on the server"
    return f"models: {', '.join(m.id for m in models) or 'none'} (load state not reported)"


def check_server(base_url: str, model: str, timeout_s: float = SERVER_TIMEOUT_S) -> Check:
    """Does an OpenAI-compatible server answer at `base_url`, what has it loaded, and which model would synth
    use (`model`: synth.model)? Only ever a warning: the default rules backend needs no server."""
    name = "LLM server"
    client = ChatClient(
        base_url,
        timeout_s=timeout_s,
        budget_s=timeout_s,
        max_retries=0,
        backoff_s=0.0,
        pool_size=1,
        structured=False,
        api_key=api_key_from_env(),
    )
    try:
        try:
            models = client.list_models(timeout_s=timeout_s)
        except ServerUnavailable as e:
            return Check(name, WARN, str(e), START_SERVER_HINT)
        try:
            chosen = resolve_model(client, model, who="synth")
        except ServerUnavailable as e:  # it answers, but synth could not pick a model
            return Check(name, WARN, f"{base_url}: {describe_models(models)}; {e}")
    finally:
        client.close()
    return Check(name, OK, f"{base_url}: {describe_models(models)}; synth would use {chosen}")


def check_params(params_file: Path) -> tuple[Check, OcrParams, SynthParams]:
    """params.yaml's [ocr] and [synth] (the languages and the server to check); defaults when it is absent."""
    name = "params.yaml"
    if not params_file.is_file():
        detail = f"{params_file} not found (run from the repository root): checking the defaults"
        return Check(name, WARN, detail), OcrParams(), SynthParams()
    try:
        ocr = load_params("ocr", OcrParams, path=params_file)
        synth = load_params("synth", SynthParams, path=params_file)
    except ParamsError as e:
        return Check(name, FAIL, str(e), f"fix {params_file}"), OcrParams(), SynthParams()
    return Check(name, OK, f"{params_file}: ocr.lang {ocr.lang}, synth.backend {synth.backend}"), ocr, synth


def run_checks(params_file: Path, base_url: str | None = None, timeout_s: float | None = None) -> list[Check]:
    """Every check, in the order the pipeline needs them; `base_url` overrides synth.base_url (one server, or
    each of a list)."""
    params, ocr, synth = check_params(params_file)
    cmd = pytesseract.pytesseract.tesseract_cmd  # what the ocr stage runs
    return [
        params,
        check_tesseract(cmd),
        *check_languages(cmd, ocr.lang),
        check_poppler(),
        check_lexicon(),
        *(check_word_list(path) for path in lexicon.SYSTEM_WORD_LISTS),
        *check_torch(),
        *(
            check_server(url, synth.model, timeout_s or SERVER_TIMEOUT_S)
            for url in ((base_url,) if base_url else synth.base_urls)
        ),
    ]


def format_report(checks: list[Check]) -> str:
    """One line per check (status, name, detail, then what to do), and a summary line."""
    width = max(len(c.name) for c in checks)
    lines = [
        f"{c.status:<4}  {c.name:<{width}}  {c.detail}" + (f"  -> {c.hint}" if c.hint else "") for c in checks
    ]
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    if failed:
        lines.append(f"{failed} required check(s) failed, {warned} warning(s)")
    else:
        lines.append(f"all required checks passed, {warned} warning(s)")
    return "\n".join(lines)


def exit_code(checks: list[Check]) -> int:
    """1 when a required check failed, else 0 (warnings do not count)."""
    return int(any(c.status == FAIL for c in checks))
