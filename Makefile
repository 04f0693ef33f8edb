# The two commands a newcomer needs: `make run` and `make test`. See the README.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test serve bench lint postgres clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: requirements are installed again only when the files change.
$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt client/pyproject.toml | $(VENV)/bin/python
	$(PIP) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## make run: the portal on http://127.0.0.1:8000 (SQLite, DEBUG on) with the Confluence stand-in beside it.
run: $(VENV)/.runtime
	$(PY) scripts/run.py

## make test: the whole suite (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL).
test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

## make serve: production-style serving with gunicorn (DEBUG off: set SECRET_KEY and ALLOWED_HOSTS).
serve: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/gunicorn -c portal/gunicorn.conf.py portal.wsgi

## make bench: the performance figures of the README, as ratios against baselines of the same run.
bench: $(VENV)/.dev
	$(PY) -m bench.run $(BENCH_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

## make postgres: a local PostgreSQL on 127.0.0.1:55432 for `DATABASE_URL=... make test`.
postgres:
	scripts/postgres.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
