# `make run` and `make test` are all a fresh machine with Python 3.11+ and git needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export QMS_INSTANCE ?= $(CURDIR)/instance
# The Chinese demo is an office in China: its days and times are Asia/Shanghai's.
ifneq ($(filter zh_Hans zh_Hant,$(QMS_LANG)),)
export QMS_TIMEZONE ?= Asia/Shanghai
endif
FLASK := $(BIN)/flask --app wsgi
# The suite runs on every core (pytest-xdist); PYTEST_ARGS="-n 0 -x" runs it in one process.
PYTEST_ARGS ?= -n auto

.PHONY: run test setup translations messages lint format clean bench frontend

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

setup: $(BIN)/activate translations

translations: $(BIN)/activate
	$(BIN)/pybabel -q compile -d qms/translations -f

# Re-extract the messages after changing user-visible text, then translate the new ones.
messages: $(BIN)/activate
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project "QMS tracker" -o qms/translations/messages.pot .
	$(BIN)/pybabel -q update -i qms/translations/messages.pot -d qms/translations --no-fuzzy-matching

# The job worker (due releases, reminders, imports, mirror pushes) runs beside gunicorn and
# stops with it. gunicorn's control socket (gunicornc) is the instance's own: its default,
# one path per user account, would be shared by every instance the user runs on the host.
run: setup
	$(FLASK) qms init --demo --lang $${QMS_LANG:-en}
	@echo "Serving the QMS tracker on http://127.0.0.1:$(PORT) with its job worker (Ctrl+C stops both)"
	@$(FLASK) qms worker & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker; exit 0' INT TERM; \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --timeout 120 \
		--control-socket "$$QMS_INSTANCE/gunicorn.ctl" wsgi:app; \
	status=$$?; kill -INT $$worker 2>/dev/null; wait $$worker; exit $$status

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(BIN)/activate
	$(BIN)/ruff check qms tests bench
	$(BIN)/ruff format --check qms tests bench

format: $(BIN)/activate
	$(BIN)/ruff format qms tests bench
	$(BIN)/ruff check --fix qms tests bench

# bench/run.py fills an instance (SCALE=1 is ten times a bureau), serves it with gunicorn and
# measures the pages through HTTP on SQLite and on the PostgreSQL of BENCH_PG_URL (emptied
# first), then release, import and render against their raw floors, and worker memory.
SCALE ?= 1
BENCH_SECONDS ?= 3
BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/test_i12
bench: setup
	$(BIN)/python bench/run.py --scale $(SCALE) --seconds $(BENCH_SECONDS) \
		--database-url $(BENCH_PG_URL) --out bench/RESULTS.md

# The front-end packages (frontend/package.json) come from the npm registry and are built
# into qms/static/vendor, which is committed: running the application needs no npm.
frontend:
	cd frontend && npm ci && npm run build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
