# Two set-up commands on a fresh machine:
#   make demo   installs everything and grades the example class (examples/ + scripts/make_examples.py; reports in reports/)
#   make test   installs everything, runs the framework's tests and grader validate --mistakes
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test install clean

demo: install
	$(BIN)/python scripts/make_examples.py --out build/examples
	$(BIN)/grader batch build/examples --out reports
	@echo "open reports/summary.html and reports/<student>/report.html"

test: install
	$(BIN)/python -m pytest -q
	# every catalogued typical mistake must still be caught by the hidden tests (and named by the diagnosis)
	$(BIN)/grader validate --mistakes

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# byte-compile the grader and the course's tests once: every grading imports them, and where
	# PYTHONDONTWRITEBYTECODE is set they would otherwise be compiled again each time
	$(BIN)/python -m compileall -q grader solutions assignments >/dev/null
	touch $@

clean:
	rm -rf $(VENV) reports build
