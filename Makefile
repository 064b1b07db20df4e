# kansa: `make demo` and `make test` bootstrap everything they need from a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: demo test lint typecheck unit system-deps clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests need: pgaudit for the real-PostgreSQL test, Noto CJK for the
# Japanese PDF drafts, poppler for reading the PDFs back, a JRE for the local Spark test.
# Installed only when running as root and missing; without root the tests say what is missing.
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  need=""; \
	  for p in postgresql-15 postgresql-15-pgaudit fonts-noto-cjk poppler-utils default-jre-headless; do \
	    dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; \
	  done; \
	  if [ -n "$$need" ]; then \
	    echo "installing Debian packages:$$need"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	  fi; \
	fi

demo: $(STAMP)
	$(BIN)/kansa demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

# As root the Debian packages were just installed, so the real-PostgreSQL test must run, not skip.
test: $(STAMP) system-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	KANSA_REQUIRE_PG=$$([ "$$(id -u)" = "0" ] && echo 1) $(BIN)/pytest -rs

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) kansa-workspace .pytest_cache .mypy_cache .ruff_cache
