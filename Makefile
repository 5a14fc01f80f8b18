# The two commands a newcomer needs:  make repro   and   make test
# Both install what is missing first (apt: tesseract + Portuguese + poppler; pip: CPU torch when no GPU, then the project).
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS := tesseract-ocr tesseract-ocr-por poppler-utils
TORCH_CPU ?= torch==2.13.0

.PHONY: setup system-deps python-deps repro test lint bench

setup: system-deps python-deps

system-deps:
	@if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx por; then \
		echo "installing $(APT_PKGS) with apt-get"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PKGS); \
	fi

python-deps:
	@if ! $(PYTHON) -c "import torch" 2>/dev/null; then \
		if command -v nvidia-smi >/dev/null 2>&1; then \
			echo "NVIDIA GPU found: installing the default (CUDA) torch build"; $(PYTHON) -m pip install -q torch; \
		else \
			echo "no torch and no NVIDIA GPU: installing the CPU build $(TORCH_CPU)"; $(PYTHON) -m pip install -q "$(TORCH_CPU)"; \
		fi; \
	fi
	$(PYTHON) -m pip install -q -e ".[dev]"

repro: setup
	dvc repro

test: setup
	$(PYTHON) -m pytest -v --durations=15

lint:
	ruff check stages tests bench scripts
