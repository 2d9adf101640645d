# The two set-up commands: `make run` and `make test`. Both create .venv and install the pinned
# dependencies (constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench chaos install clean-data lock browser catalogs

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "leadstate needs Python 3.11+; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/leadstate dev

# The console's browser test needs Debian's chromium; installed when missing (as root), skipped otherwise.
browser:
	@command -v chromium >/dev/null || ( [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium ) \
		|| echo "leadstate: could not install chromium; browser tests will be skipped"
	@# Japanese text in the console's screenshots needs a CJK font (issue 20).
	@[ -d /usr/share/fonts/opentype/noto ] || ( [ "$$(id -u)" = 0 ] && apt-get install -y -qq fonts-noto-cjk ) \
		|| echo "leadstate: could not install fonts-noto-cjk; Japanese renders as boxes in screenshots"

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/pytest -n 4 --dist loadfile

# The console's words (docs/languages.md): extract them from the templates and the console's Python and
# merge new ones into each language's .po; translate the new ja entries, then run tests/unit/handoff/test_catalogs.py.
LOCALE := services/handoff/console/locale
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-wrap --no-fuzzy-matching --ignore-obsolete
	@rm $(LOCALE)/messages.pot

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks against the raw broker and database (not part of `make test`); see bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench all

# The long fault-injection and security runs (tests/chaos, tests/security): 100,000 events under SIGKILLs,
# outages, 2,000 generated requests per API; prints a summary. `make test` runs their short versions.
chaos: $(STAMP)
	LEADSTATE_CHAOS_FULL=1 $(BIN)/pytest tests/chaos tests/security -p no:cacheprovider --timeout 5400 -rxX -s

# Regenerate the pins after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --exclude leadstate > constraints.txt

clean-data:
	rm -rf .leadstate
