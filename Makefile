# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MO_FILES := $(patsubst %.po,%.mo,$(wildcard kundeflyt/locale/*/LC_MESSAGES/django.po))

.PHONY: run serve test lint typecheck pytest install messages makemessages clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

%.mo: %.po
	msgfmt --check -o $@ $<

messages: $(MO_FILES)

run: install messages
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py demo_data
	DEBUG=1 $(BIN)/python manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Production-style serving: gunicorn as gunicorn_conf.py sets it (two workers per core, the
# access log's request path only), and the worker for background tasks and the scheduled
# jobs. Load balancers ask /healthz. Needs SECRET_KEY (and, behind a plain-HTTP
# setup only, PLAIN_HTTP=1) in the environment; reads PORT, WORKERS and THREADS.
serve: install messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn_conf.py kundeflyt.wsgi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	DEBUG=1 $(BIN)/mypy kundeflyt

pytest: install messages
	DEBUG=1 FAST_PASSWORD_HASHER=1 $(BIN)/python manage.py check
	DEBUG=1 FAST_PASSWORD_HASHER=1 $(BIN)/python manage.py makemigrations --check --dry-run
	CONN_MAX_AGE=0 FAST_PASSWORD_HASHER=1 $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

makemessages: install
	cd kundeflyt && ../$(BIN)/django-admin makemessages -l nb -l en --no-location --no-obsolete

clean:
	rm -rf $(VENV) data staticfiles
