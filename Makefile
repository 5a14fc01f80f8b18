# The two commands a newcomer needs:  make repro   and   make test
# Both install what is missing first (apt: tesseract + Portuguese + poppler; pip: torch, the CPU build when
# there is no NVIDIA GPU, then exact versions from a lock file, then the project): `make repro` (via `make setup`)
# what the pipeline runs with, requirements/runtime.lock; `make test` (via `make setup-dev`) that plus the dev
# tools and the gemma model package the tests use, requirements/dev.lock. Both locks pin the same versions.
# Where the interpreter is Debian/Ubuntu's own "externally managed" Python (PEP 668: pip refuses to install into
# it), everything goes into a virtual environment .venv instead.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# tesseract-ocr-osd: orientation detection (pages scanned sideways); wbrazilian wportuguese: the word lists of the
# lexicon (stages/text/lexicon.py), with pyspellchecker's from PyPI
APT_PKGS := tesseract-ocr tesseract-ocr-por tesseract-ocr-osd poppler-utils wbrazilian wportuguese
TORCH_VERSION ?= 2.13.0
RUNTIME_LOCK := requirements/runtime.lock
DEV_LOCK := requirements/dev.lock
VENV := .venv
EXTERNALLY_MANAGED := $(shell $(PYTHON) -c "import os, sysconfig; print(int(os.path.exists(os.path.join(sysconfig.get_paths()['stdlib'], 'EXTERNALLY-MANAGED'))))" 2>/dev/null)

ifeq ($(EXTERNALLY_MANAGED),1)
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
else
PY := $(PYTHON)
endif

.PHONY: setup setup-dev system-deps python-env torch python-deps python-dev-deps lock repro test lint

# the pipeline's dependencies only (no test or lint tools, no gemma model package)
setup: system-deps python-deps

# the pipeline's dependencies plus the dev extra: pytest, hypothesis, ruff, transformers serve, reportlab, gemma
setup-dev: system-deps python-dev-deps

system-deps:
	@if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx por \
		|| ! tesseract --list-langs 2>/dev/null | grep -qx osd || [ ! -f /usr/share/dict/brazilian ] || [ ! -f /usr/share/dict/portuguese ]; then \
		echo "installing $(APT_PKGS) with apt-get"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PKGS); \
	fi

python-env:
ifeq ($(EXTERNALLY_MANAGED),1)
	@if [ ! -x $(PY) ]; then \
		echo "$(PYTHON) is externally managed (PEP 668): installing into $(VENV)"; \
		$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }; \
	fi
endif

# torch first (scripts/install_torch.py: CPU build from PyTorch's CPU index without an NVIDIA GPU, falling back
# to the default index; an installed torch is kept; the locks leave torch out), then the exact versions of a
# lock file, then the project itself without resolving anything again.
torch: python-env
	$(PY) scripts/install_torch.py --version $(TORCH_VERSION)

python-deps: torch
	$(PY) -m pip install -q -r $(RUNTIME_LOCK)
	$(PY) -m pip install -q --no-deps -e .

python-dev-deps: torch
	$(PY) -m pip install -q -r $(DEV_LOCK)
	$(PY) -m pip install -q --no-deps -e .

# Regenerate the locks after changing pyproject.toml's dependencies (then run `make test`): the dev lock
# (dependencies + the dev extra) is resolved first, then the runtime lock (dependencies only) with the dev lock
# as a constraint, so that every package in both has the same version. An existing lock's versions are kept
# (pip-compile --upgrade / --upgrade-package to move them).
lock:
	$(PY) -m pip install -q pip-tools
	$(PY) -m piptools compile -q --strip-extras --extra dev --unsafe-package torch \
		--no-emit-index-url --no-emit-find-links --constraint requirements/torch.txt \
		--output-file $(DEV_LOCK) pyproject.toml
	$(PY) -m piptools compile -q --strip-extras --unsafe-package torch \
		--no-emit-index-url --no-emit-find-links --constraint requirements/torch.txt --constraint $(DEV_LOCK) \
		--output-file $(RUNTIME_LOCK) pyproject.toml

repro: setup
	dvc repro

test: setup-dev
	$(PY) -m pytest -v --durations=15

lint:
	$(PY) -m ruff check stages tests bench scripts
