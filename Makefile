# Fupin: `make demo` runs the platform with a demo county; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_SCALE ?= 0.05
DEMO_PASSWORD ?= fupin-demo-2016
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: setup setup-spark demo test test-spark test-sqlite test-postgres lint serve assets messages bench clean

setup: $(VENV)/.installed assets

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

# The Spark engine (`fupin compare --engine spark`): pyspark into .venv, kept out of `make setup` so the demo stays
# light. Java 17 comes from the system (Debian: openjdk-17-jre-headless).
setup-spark: $(VENV)/.installed
	$(BIN)/python -m pip install -q $$($(BIN)/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["spark"]))')
	@command -v java >/dev/null 2>&1 || echo "NOTICE: no java on PATH: install openjdk-17-jre-headless for the Spark engine"

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end libraries are copied from node_modules into fupin/static/vendor: nothing is ever loaded from a CDN.
assets: node_modules/.installed
	$(BIN)/python scripts/vendor_assets.py

demo: setup
	$(BIN)/fupin migrate --noinput
	$(BIN)/fupin seed_demo --scale $(DEMO_SCALE) --if-empty --password $(DEMO_PASSWORD)
	$(BIN)/fupin serve --addr 127.0.0.1:8000 --demo-password $(DEMO_PASSWORD)

serve: setup
	$(BIN)/fupin serve --addr 127.0.0.1:8000 --demo-password $(DEMO_PASSWORD)

test: setup
	$(BIN)/python scripts/run_tests.py

# the Spark engine's equality test (both engines, same links, findings and scores): needs make setup-spark and Java
test-spark: setup-spark
	$(BIN)/python -m pytest -q -m spark

test-sqlite: setup
	$(BIN)/python scripts/run_tests.py --only sqlite

test-postgres: setup
	$(BIN)/python scripts/run_tests.py --only postgres

lint: setup
	$(BIN)/ruff check .

messages: setup
	cd fupin && ../$(BIN)/django-admin makemessages -l zh_Hans -l en --no-obsolete && ../$(BIN)/django-admin compilemessages

bench: setup
	$(BIN)/python bench/seed_demo.py

clean:
	rm -rf $(VENV) node_modules fupin/static/vendor
