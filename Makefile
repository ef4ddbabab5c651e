# Two entry points do all set-up: `make demo` (the main job) and `make test` (the whole suite); `make docs`
# builds the documentation site offline into _site/. All create .venv on first use and reuse it; the stamp makes
# the second run skip installation.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the installer: uv where the venv has it, else pip (evaluated by the shell when a recipe line runs)
INSTALL = $$(if [ -x $(BIN)/uv ]; then echo "$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python"; else echo "$(BIN)/pip install -q"; fi)
DEPS := pyproject.toml requirements/cpu.txt requirements/dev.txt requirements/gpu.txt requirements/docs.txt

.PHONY: demo test lint docs export check-sync bench clean-venv tiny

$(STAMP): $(DEPS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@# uv installs the same pins as pip faster (parallel downloads, one shared cache: about 30 s against 100 s here);
	@# where uv cannot be had, pip does the same installs. Bytecode is compiled at install time, as pip does: where
	@# PYTHONDONTWRITEBYTECODE is set, every process of the suite would otherwise compile torch and transformers anew
	$(BIN)/python -m pip install -q uv || echo "uv is not available: installing with pip"
	@# CPU torch unless this machine has CUDA; the pin keeps the installer from pulling CUDA wheels (uv does not read
	@# pip's find-links setting, so the folder of the local CPU wheel is named)
	if command -v nvidia-smi >/dev/null 2>&1; then \
	  $(INSTALL) torch==2.13.0 -r requirements/gpu.txt; \
	elif ls /opt/wheels/torch-2.13.0+cpu-* >/dev/null 2>&1; then \
	  $(INSTALL) --find-links /opt/wheels -r requirements/cpu.txt; \
	else \
	  $(INSTALL) -r requirements/cpu.txt --index-url https://download.pytorch.org/whl/cpu; \
	fi
	@# docs.txt too: `make test` executes the notebooks by building the docs site (tests/test_notebooks.py)
	$(INSTALL) -r requirements/dev.txt -r requirements/docs.txt -e .
	@# the browser tests drive Debian's chromium through playwright (no browser download)
	if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  ($$sudo apt-get update -q && $$sudo apt-get install -y -q chromium) || echo "could not install chromium: browser tests will be skipped"; \
	fi
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lsrl demo

# Export must not change tracked files (package in sync), clean must not change notebooks, ruff (tests/, bench/,
# docs/ and the notebooks), then pytest. pytest runs the notebooks' own tests too, once: the session fixture
# `docs_build` (tests/conftest.py) builds the docs site with docs/build.py, which executes every notebook (2 kernels,
# cells nbdev-test leaves out not run, pyproject cell_timeout); tests/test_notebooks.py fails naming the notebook and
# cell, with or without chromium, and tests/test_docs_browser.py loads the same site. No separate nbdev-test run.
test: $(STAMP)
	@before=$$(git status --porcelain | sort); \
	$(BIN)/nbdev-export; \
	after=$$(git status --porcelain | sort); \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev-export changed files: the package is out of sync with the notebooks:"; \
	  comm -13 <(echo "$$before") <(echo "$$after"); exit 1; fi; \
	$(BIN)/nbdev-clean; \
	after2=$$(git status --porcelain | sort); \
	if [ "$$after" != "$$after2" ]; then \
	  echo "nbdev-clean changed notebooks: commit them cleaned (run nbdev-clean):"; \
	  comm -13 <(echo "$$after") <(echo "$$after2"); exit 1; fi
	$(BIN)/ruff check .
	@# the suite never calls a real grader: a key in the caller's environment must not send the tests to the network
	@# one torch thread in every process of the suite, notebook kernels included (tests/conftest.py): on 2 cores,
	@# 2-thread torch processes spin-wait each other to a crawl
	env -u OPENAI_API_KEY $(BIN)/python -m pytest -q -p no:cacheprovider --durations=15

# ruff alone (the step `make test` runs after its sync checks); config in pyproject [tool.ruff]
lint: $(STAMP)
	$(BIN)/ruff check .

# The documentation site, offline (no Quarto): every notebook executed (cells flagged notest/slow/cuda shown, not
# run), nbdev's docs processing, mkdocs-material + mkdocs-jupyter into _site/. `nbdev-docs` is the Quarto path.
docs: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python docs/build.py

export: $(STAMP)
	$(BIN)/nbdev-clean && $(BIN)/nbdev-export

bench: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/python bench/generate.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/latent_cache.py
	$(BIN)/python bench/grader.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/hrpo_rollout.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/train_step.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/rollout.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/trl_step.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/memory_phases.py
	OMP_NUM_THREADS=2 $(BIN)/python bench/backward_passes.py

# Re-train the tiny models shipped in lsrl/assets: the Huginn (tiny) and the causal LM (tiny-causal)
# (recipe: nbs/09_tiny.ipynb; about 70 + 10 minutes on 2 cores)
tiny: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/python -m lsrl.tiny --out lsrl/assets/tiny-huginn
	OMP_NUM_THREADS=2 $(BIN)/python -m lsrl.tiny --arch qwen2 --out lsrl/assets/tiny-causal

clean-venv:
	rm -rf $(VENV)
