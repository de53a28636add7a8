# Two commands set everything up: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
SCENARIO ?= scenarios/baseline.toml
SEED   ?= 1

.PHONY: run test bench lint docs clean strip-notebooks dashboard browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# setuptools' "Editable installation" note (folders named like the package may shadow it) says
# nothing a user of this project needs; it is the only thing the build itself prints. Lines
# "WARNING: Location ... is ignored" come from the machine's pip configuration, not the project.
QUIET_BUILD := PYTHONWARNINGS="ignore:Editable installation"

$(VENV)/.installed: pyproject.toml | $(PY)
	$(QUIET_BUILD) $(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(QUIET_BUILD) $(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The dashboard's browser test drives Debian's chromium (never a downloaded browser build).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update && apt-get install -y chromium; fi

run: $(VENV)/.installed
	$(VENV)/bin/shaoguan-abm run $(SCENARIO) --seed $(SEED)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check model tests benchmarks scripts
	$(PY) scripts/strip_notebooks.py --check

# Two processes (pytest-xdist): the suite's long cases wait on subprocesses, clusters and a browser.
# `pytest -m 'not slow'` leaves out the dozen end-to-end cases for a quick local check.
# The compiled kernels are loaded once first: on a fresh clone that compiles them into numba's
# cache, which every test process then reads, instead of several compiling them at once.
test: $(VENV)/.installed-test browser lint
	$(PY) -c "from model.engine import kernels; kernels.load()"
	$(PY) -m pytest -q -n 2

strip-notebooks: $(VENV)/.installed-test
	$(PY) scripts/strip_notebooks.py

# docs/parameters.md and the parameter tables of docs/ODD.md are generated from the schema,
# docs/outputs.md from the catalogue of metrics.
docs: $(VENV)/.installed
	$(VENV)/bin/shaoguan-abm params --markdown > docs/parameters.md.tmp || { rm -f docs/parameters.md.tmp; exit 1; }
	mv docs/parameters.md.tmp docs/parameters.md
	$(VENV)/bin/shaoguan-abm outputs --markdown > docs/outputs.md.tmp || { rm -f docs/outputs.md.tmp; exit 1; }
	mv docs/outputs.md.tmp docs/outputs.md
	$(VENV)/bin/shaoguan-abm params --fill docs/ODD.md

dashboard: $(VENV)/.installed-test
	$(VENV)/bin/shaoguan-abm dashboard --host 127.0.0.1 --port 8765

bench: $(VENV)/.installed
	$(PY) benchmarks/run_benchmarks.py

clean:
	rm -rf $(VENV) *.egg-info build dist
