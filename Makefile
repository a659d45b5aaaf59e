# Two commands: `make run` and `make test`. Both bootstrap .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# Developer defaults for `make run` only (the library defaults stay closed for production):
# card links follow HOST/PORT, and the CDS Hooks sandbox may call from a browser — run
# locally (its dev server, http://localhost:8080) or the public one. Either can be
# overridden from the environment or the command line. Worker processes:
# OPIOID_CDS_WORKERS (default 1; docs/performance.md).
OPIOID_CDS_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
OPIOID_CDS_CORS_ALLOW_ORIGINS ?= ["http://localhost:8080","http://127.0.0.1:8080","https://sandbox.cds-hooks.org"]
# Client trust (issue 12): `make run` turns it off for a developer's machine only when
# OPIOID_CDS_AUTH is not already set (the library default is jwt), and says so.
ifeq ($(origin OPIOID_CDS_AUTH),undefined)
OPIOID_CDS_AUTH := off
AUTH_NOTE := make run: client JWT checks are off because OPIOID_CDS_AUTH is not set: anyone who can reach the service may call it (set OPIOID_CDS_AUTH=jwt to check them)
endif

.PHONY: run test lint typecheck pytest openapi facts medicines bench profile burden clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Storage (issue 13): the SQLite database, spool and pseudonym key live in var/. The key is
# generated once and kept (snoozes and reports need the same patient key across restarts);
# an OPIOID_CDS_PSEUDONYM_KEY already in the environment wins.
run: $(STAMP)
	$(if $(AUTH_NOTE),@echo '$(AUTH_NOTE)')
	mkdir -p var
	test -s var/pseudonym.key || (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > var/pseudonym.key)
	test -s var/link.key || (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > var/link.key)
	OPIOID_CDS_PSEUDONYM_KEY="$${OPIOID_CDS_PSEUDONYM_KEY:-$$(cat var/pseudonym.key)}" \
	OPIOID_CDS_LINK_KEY="$${OPIOID_CDS_LINK_KEY:-$$(cat var/link.key)}" \
	OPIOID_CDS_AUTH='$(OPIOID_CDS_AUTH)' \
	OPIOID_CDS_PUBLIC_BASE_URL='$(OPIOID_CDS_PUBLIC_BASE_URL)' \
	OPIOID_CDS_CORS_ALLOW_ORIGINS='$(OPIOID_CDS_CORS_ALLOW_ORIGINS)' \
	$(BIN)/python -m service serve --host $(HOST) --port $(PORT)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check service tests tools
	$(BIN)/ruff format --check service tests tools

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser
	$(BIN)/pytest -q

# The dashboard test drives Debian's chromium (never a Playwright browser download); a fresh
# machine gets it here (CI runs as root).
browser:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# Regenerate the committed OpenAPI document (a test fails when it drifts).
openapi: $(STAMP)
	$(BIN)/python -m service openapi > openapi/openapi.json

# Regenerate the committed list of facts rule files may use (a test fails when it drifts).
facts: $(STAMP)
	$(BIN)/python -m service facts > docs/facts.md

# Regenerate rules/medicines/ from the dm+d code lists in ../shared/reference.
medicines: $(STAMP)
	$(BIN)/python tools/build_medicines.py

# Benchmarks (issue 14, docs/performance.md): in-process (pytest-benchmark), then over HTTP
# with wrk against real uvicorn servers on loopback (the service beside a parse-only
# baseline). Options: BENCH_SECONDS, BENCH_REPEATS, BENCH_CONNECTIONS, BENCH_AUTH (both|off|jwt),
# OPIOID_CDS_WORKERS.
bench: $(STAMP)
	$(BIN)/pytest -q tests/benchmarks --benchmark-enable
	command -v wrk >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk)
	$(BIN)/python -m tests.benchmarks.http_bench

# Flame graphs of the service under wrk load (py-spy attaches to the worker; needs ptrace).
profile: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk)
	$(BIN)/python -m tests.benchmarks.profile_http typical docs/profiles/typical.svg
	$(BIN)/python -m tests.benchmarks.profile_http heavy docs/profiles/heavy.svg

# Alert burden (issue 11 item 5): synthetic prescribing events through the service.
burden: $(STAMP)
	$(BIN)/python tools/alert_burden.py > docs/alert-burden.md.tmp
	mv docs/alert-burden.md.tmp docs/alert-burden.md

# Find (issue 15, docs/find.md): every patient of a FHIR Bulk Data export, e.g.
#   make find EXPORT=/data/export OUT=/data/find FIND_ARGS='--as-of 2026-11-22'
.PHONY: find
find: $(STAMP)
	$(BIN)/python -m service find $(EXPORT) --out $(OUT) $(FIND_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
