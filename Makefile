# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
CORPUS ?= corpus
INDEX ?= index

.PHONY: run test index install clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Rebuild only when the published index no longer matches corpus/ (or is missing).
index: install
	@$(PY) build_index.py --corpus $(CORPUS) --out $(INDEX) --check --quiet || $(PY) build_index.py --corpus $(CORPUS) --out $(INDEX)

run: index
	FAQ_INDEX_DIR=$(INDEX) HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py server:app

test: install
	$(PY) -m pytest

clean:
	rm -rf $(VENV) $(INDEX) *.egg-info .pytest_cache
