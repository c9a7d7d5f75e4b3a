# ReelDesk developer commands. `make help` lists them.
#
# Every target that needs Python first makes .venv (if missing) and installs the
# project into it; the install is skipped while pyproject.toml is older than the stamp.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.reeldesk-installed
MANAGE := $(BIN)/python manage.py
PYTEST := $(BIN)/pytest
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes for the unit suite (pytest-xdist); the integration tests run in one.
TEST_WORKERS ?= 2

# Processes started by honcho find the venv's python, celery and gunicorn first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: help install run migrate translations messages demo test test-unit test-integration \
	lint format

help: ## List the targets
	@echo "ReelDesk — make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Make .venv and install the project with its dev tools (skipped when up to date)

migrate: $(STAMP) ## Apply database migrations
	$(MANAGE) migrate --no-input

translations: $(STAMP) ## Compile the translations in locale/ (.po -> .mo; .mo files are not in git)
	@if [ -d locale ]; then \
		$(MANAGE) compilemessages --ignore=$(VENV) --ignore=var --verbosity 0; \
	fi

messages: $(STAMP) ## Extract translatable strings into locale/zh_Hans/LC_MESSAGES/django.po
	@mkdir -p locale
	$(MANAGE) makemessages -l zh_Hans --no-obsolete --ignore='$(VENV)/*' --ignore='var/*' \
		--ignore='build/*' --ignore='tests/*' --ignore='bench/*'

demo: $(STAMP) ## Load the demo studio once (idempotent) and print the demo login
	$(MANAGE) seed_demo --url http://$(HOST):$(PORT)/

run: $(STAMP) ## Migrate, load the demo once, then start web + Celery worker + beat (Ctrl-C stops all)
	@$(MAKE) migrate translations
	@$(MAKE) demo
	REELDESK_HOST=$(HOST) REELDESK_PORT=$(PORT) $(BIN)/honcho --procfile Procfile start

test: $(STAMP) ## Unit suite on SQLite, then integration (whole suite on PostgreSQL if DATABASE_URL)
	@$(MAKE) test-unit
	@$(MAKE) test-integration

test-unit: $(STAMP) translations ## Unit suite only, on SQLite with the in-process (eager) Celery
	env -u DATABASE_URL -u REDIS_URL $(PYTEST) -m "not integration" -n $(TEST_WORKERS)

test-integration: $(STAMP) translations ## Integration tests; with DATABASE_URL set, the whole suite on it
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		echo "DATABASE_URL is set: the unit suite on it, then the integration tests"; \
		$(PYTEST) -m "not integration" -n $(TEST_WORKERS); \
	fi
	$(PYTEST) -m integration

lint: $(STAMP) ## ruff format --check, ruff check and mypy (all three run; fails if any fails)
	@status=0; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/mypy . || status=1; \
	exit $$status

format: $(STAMP) ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
