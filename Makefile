# talksbot: every target works from a fresh clone; the venv is created on first use.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Questions are passed through the environment, never pasted into the shell line, so quotes
# and backquotes in a question cannot break or inject into the recipe. $(value Q) keeps a $ in
# the question as typed (make would otherwise read "$5" as a variable and drop it).
override Q := $(value Q)
export Q
export PYTEST_ARGS

.PHONY: help install ask index run test test-fast eval bench lint clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || { echo "Creating $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing talksbot and its dependencies into $(VENV) (torch pinned by constraints.txt; about 1.8 GB) ..."
	@# This machine's pip configuration names an extra index that may be absent; its warnings are noise.
	@# trafilatura asks for lxml[html_clean], an extra lxml 6 dropped: lxml_html_clean is a direct dependency.
	@$(PIP) install -c constraints.txt -e '.[test]' 2>&1 | \
		{ grep -v -e "^WARNING: Location '.*' is ignored" -e "does not provide the extra 'html_clean'" || true; }
	@echo "Installed."
	@touch $@

install: $(VENV)/.installed ## Create .venv and install talksbot with the test extra

ask: $(VENV)/.installed ## Answer a question in the terminal: make ask Q="..."
	@test -n "$$Q" || { echo 'usage: make ask Q="your question"' >&2; exit 2; }
	@# Bring the index up to date first (0.2 s when nothing changed), so new articles are answered at once.
	@$(BIN)/talksbot index --quiet
	@$(BIN)/talksbot ask "$$Q"

index: $(VENV)/.installed ## Bring the index up to date with documents/
	@$(BIN)/talksbot index

run: $(VENV)/.installed ## Run the Discord bot (needs DISCORD_TOKEN in .env)
	@$(BIN)/talksbot run

test: $(VENV)/.installed ## Run the whole test suite
	$(BIN)/python -m pytest $$PYTEST_ARGS

test-fast: $(VENV)/.installed ## Run the suite without the slow reliability loops
	$(BIN)/python -m pytest -m "not slow" $$PYTEST_ARGS

eval: $(VENV)/.installed ## Print retrieval quality on the evaluation set
	@$(BIN)/talksbot eval

bench: $(VENV)/.installed ## Run the benchmark scripts (prints figures; no assertions)
	@$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed ## Check the code with ruff
	$(BIN)/python -m ruff check bot index tests bench

clean: ## Remove the venv and the built index (never documents/ or the votes in .talksbot/feedback.sqlite3)
	rm -rf $(VENV) .talksbot/index
