# The two commands a newcomer needs:  make repro   and   make test
# Both install what is missing first (apt: tesseract + Portuguese + poppler; pip: CPU torch when there is no
# NVIDIA GPU, then the project). Where the interpreter is Debian/Ubuntu's own "externally managed" Python
# (PEP 668: pip refuses to install into it), everything goes into a virtual environment .venv instead.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS := tesseract-ocr tesseract-ocr-por poppler-utils
TORCH_CPU ?= torch==2.13.0
VENV := .venv
EXTERNALLY_MANAGED := $(shell $(PYTHON) -c "import os, sysconfig; print(int(os.path.exists(os.path.join(sysconfig.get_paths()['stdlib'], 'EXTERNALLY-MANAGED'))))" 2>/dev/null)

ifeq ($(EXTERNALLY_MANAGED),1)
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
else
PY := $(PYTHON)
endif

.PHONY: setup system-deps python-env python-deps repro test lint

setup: system-deps python-deps

system-deps:
	@if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx por; then \
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

python-deps: python-env
	@if ! $(PY) -c "import torch" 2>/dev/null; then \
		if command -v nvidia-smi >/dev/null 2>&1; then \
			echo "NVIDIA GPU found: installing the default (CUDA) torch build"; $(PY) -m pip install -q torch; \
		else \
			echo "no torch and no NVIDIA GPU: installing the CPU build $(TORCH_CPU)"; $(PY) -m pip install -q "$(TORCH_CPU)"; \
		fi; \
	fi
	$(PY) -m pip install -q -e ".[dev]"

repro: setup
	dvc repro

test: setup
	$(PY) -m pytest -v --durations=15

lint:
	$(PY) -m ruff check stages tests bench scripts
