# The project's commands. `make run` and `make test` work from a fresh clone
# with nothing but Python 3.11, git, make and the PostgreSQL server binaries.

UV_VERSION := 0.13.8
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
VENV       := .venv
BIN        := $(VENV)/bin
export UV_PYTHON := python3.11
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

PYPROJECTS := pyproject.toml $(wildcard */pyproject.toml)

.PHONY: install run test fuzz test-fast lint fmt lock bench-gateway bench-bulkuser bench-emm bench-stack bench-journal bench-reset bench-leaver clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock $(PYPROJECTS)
	$(UV) sync --frozen --all-packages --quiet --compile-bytecode
	@touch $@

install: $(VENV)/.installed ## create .venv and install the workspace from uv.lock

run: install ## the gateway on 127.0.0.1:8080, the five services and svc-leaver, SQLite under var/, demo data
	@mkdir -p var
	@cat scripts/run-banner.txt
	DEMO_DATA=1 ADMIN_API=1 GATEWAY_CONFIG=gateway/src/gateway/demo.yaml RATELIMIT_STORAGE_URL=memory:// \
		$(BIN)/honcho -f Procfile start

test: install ## lint, unit, in-process and end-to-end tests (real PostgreSQL, Redis, gunicorn)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

fuzz: install ## schemathesis against every service through the gateway, 200 examples per operation
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest -k schemathesis -p no:cacheprovider

test-fast: install ## the tests that start no process
	$(BIN)/python -m pytest -m "not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: $(UV) ## refresh uv.lock after changing a pyproject.toml
	$(UV) lock

bench-gateway: install ## throughput, latency, memory: direct, nginx, the gateway and its prototypes
	@command -v wrk >/dev/null && { command -v nginx >/dev/null || test -x /usr/sbin/nginx; } || \
		{ echo "installing wrk and nginx-light (Debian packages)"; apt-get update -qq && apt-get install -y -qq wrk nginx-light; }
	$(BIN)/python bench/gateway_bench.py

bench-bulkuser: install ## bulk delete of 100,000 of 1,000,000 users vs raw SQL, SQLite and PostgreSQL
	$(BIN)/python bench/bulkuser_bench.py

bench-emm: install ## p50 of view-users over 100,000 users on PostgreSQL
	$(BIN)/python bench/emm_bench.py

bench-stack: install ## make run's memory and start-up, slow clients, authenticated read vs /healthz (SQLite, PostgreSQL)
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/stack_bench.py

bench-journal: install ## gateway throughput with the journal on vs off; a whole-stack /_gateway/reset
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/journal_bench.py

bench-reset: install ## /_admin/reset of each service and of all five, SQLite and PostgreSQL, vs a fresh start
	$(BIN)/python bench/reset_bench.py

bench-leaver: install ## a svc-leaver run of five targets vs a plain script doing the same calls
	$(BIN)/python bench/leaver_bench.py

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .ruff_cache
