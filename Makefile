# Empora: `make run` starts the platform, `make test` runs every test. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help uv sync run up down status test test-fast lint format bench

# uv may land in ~/.local/bin when pip installs it for a non-root user.
export PATH := $(HOME)/.local/bin:$(PATH)
# Use the machine's Python; never download interpreters.
export UV_PYTHON_DOWNLOADS ?= never
UV ?= uv
PYTEST_ARGS ?=
# One pytest session per test folder: each gets its own migrated database and its own Redis/AMQP
# prefix, so one service's events and rows never leak into another service's assertions.
TEST_DIRS ?= $(wildcard packages/*/tests) $(wildcard services/*/tests) tests

help: ## List every target
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

uv: ## Install uv (with pip) if it is missing
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv \
		|| python3 -m pip install --quiet --break-system-packages uv
	@command -v $(UV) >/dev/null 2>&1 || { echo "uv is not on PATH after pip install uv" >&2; exit 1; }

sync: uv ## Install the locked dependencies into .venv
	$(UV) sync --frozen

run: sync ## Start everything in the foreground: infra, migrations, admin, catalog, services (Ctrl-C stops)
	$(UV) run --frozen empora up

up: run ## Same as run

down: uv ## Stop what `make run` / `empora up` started
	$(UV) run --frozen empora down

status: uv ## Show the services and servers with their health
	$(UV) run --frozen empora status

test: sync ## Run every test (real PostgreSQL, Redis and RabbitMQ), one session per folder
	@failed=""; passed_n=0; failed_n=0; skipped_n=0; log=$$(mktemp); \
	for dir in $(TEST_DIRS); do \
		echo "== pytest $$dir"; \
		$(UV) run --frozen pytest -q $(PYTEST_ARGS) "$$dir" | tee "$$log"; rc=$${PIPESTATUS[0]}; \
		if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then failed="$$failed $$dir"; fi; \
		summary=$$(tail -n 1 "$$log"); \
		n=$$(grep -oE '[0-9]+ passed' <<<"$$summary" | grep -oE '[0-9]+'); passed_n=$$((passed_n + $${n:-0})); \
		n=$$(grep -oE '[0-9]+ (failed|error)' <<<"$$summary" | awk '{s+=$$1} END {print s+0}'); failed_n=$$((failed_n + $${n:-0})); \
		n=$$(grep -oE '[0-9]+ skipped' <<<"$$summary" | grep -oE '[0-9]+'); skipped_n=$$((skipped_n + $${n:-0})); \
	done; rm -f "$$log"; \
	echo "total: $$passed_n passed, $$failed_n failed, $$skipped_n skipped"; \
	if [ -n "$$failed" ]; then echo "FAILED in:$$failed"; exit 1; fi

test-fast: ## Every test except the slow platform and fault tests
	@$(MAKE) --no-print-directory test PYTEST_ARGS='-m "not slow" $(PYTEST_ARGS)'

lint: sync ## ruff check, ruff format --check, mypy strict, import-linter
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy packages/*/src services/*/src
	$(UV) run --frozen lint-imports

format: sync ## Apply ruff's fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: sync ## Run every bench/*.py script in turn
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in bench/ yet"; fi; \
	for script in "$${scripts[@]}"; do \
		echo "== $$script"; $(UV) run --frozen python "$$script" || exit $$?; \
	done
