# The two commands: `make run` starts the local stack, `make test` runs every check.
# Python 3.13, the Lambda runtime's: on PATH as python3.13, or under pyenv (where this project's
# machines keep it). PYTHON=/path/to/python3.13 overrides the search.
PYTHON ?= $(or $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null),$(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13))))
ifeq ($(strip $(PYTHON)),)
$(error Python 3.13 not found: install it (e.g. `pyenv install 3.13`) or set PYTHON=/path/to/python3.13)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev

.PHONY: run reset test lint typecheck catalogue unit integration e2e browser bench screenshots vendor package admin-key reindex schedule-retention clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo "==> Setting up $(VENV) with $(PYTHON): the first time downloads about 100 packages (a few"
	@echo "    minutes); pip names each one as it goes. Later runs skip this until a requirements file changes."
	@# A virtual environment made by another Python is made again: the runtime is 3.13.
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then \
		echo "==> Remaking $(VENV) with $(PYTHON) (it was made by another Python)"; rm -rf $(VENV); fi
	@echo "==> [1/4] Making the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/4] Upgrading pip"
	$(BIN)/pip install --disable-pip-version-check --upgrade pip
	@# phonenumberslite replaced phonenumbers (same package directory): drop the old one from a venv
	@# made before the switch, or both would own phonenumbers/.
	@$(BIN)/pip uninstall --quiet --yes phonenumbers 2>/dev/null || true
	@echo "==> [3/4] Installing the packages of requirements-dev.txt (the service, moto, the test tools)"
	$(BIN)/pip install --disable-pip-version-check -r requirements-dev.txt
	@echo "==> [4/4] Installing the vigil command into $(VENV)/bin"
	$(BIN)/pip install --disable-pip-version-check --quiet -e .
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

run: $(STAMP)
	$(BIN)/python -m vigil_local

# What `make run` keeps (.vigil, or VIGIL_DATA_DIR): deleted, so the next run starts empty. Standard
# library only, so it needs no virtual environment.
reset:
	@$(PYTHON) -m vigil_local.datadir reset

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The message catalogue: extract the texts people read from the code into each language's .po (new
# ones untranslated, changed ones fuzzy) and compile the .mo the bundle ships. `make test` checks it
# (tests/unit/test_catalogue.py); `python -m tools.catalogue --check` says what is missing or stale.
catalogue: $(STAMP)
	$(BIN)/python -m tools.catalogue

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser

screenshots: $(STAMP)
	$(BIN)/python -m tools.screenshots

# The coverage map's libraries and geometry, from the npm registry at the versions and hashes of
# tools/vendor.lock.json, into chalicelib/dashboard/vendor/ (committed; docs/dashboard.md).
vendor: $(STAMP)
	$(BIN)/python -m tools.vendor

# The quick run of four benchmarks (about 5 minutes); docs/benchmarks.md gives each one's full command.
bench: $(STAMP)
	$(BIN)/python -m bench.routing --sizes 1000,10000
	$(BIN)/python -m bench.delivery --sizes 100,1000 --mixed 1000
	$(BIN)/python -m bench.coldstart
	$(BIN)/python -m bench.latency

package: $(STAMP)
	$(BIN)/python -m infra.package --stage $(STAGE) --out build/$(STAGE)
	$(BIN)/cfn-lint -- build/$(STAGE)/sam.yaml

admin-key: $(STAMP)
	$(BIN)/python -m infra.admin_key --stage $(STAGE)

# Rewrite the subscription index from the subscribers (docs/operations.md: after a deploy that changes it).
reindex: $(STAMP)
	$(BIN)/python -m infra.reindex --stage $(STAGE)

# Give detainers decided before personal data was removed their removal time (docs/operations.md).
schedule-retention: $(STAMP)
	$(BIN)/python -m infra.schedule_retention --stage $(STAGE) $(if $(DAYS),--days $(DAYS))

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
