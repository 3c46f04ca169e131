# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The settings' environment variables (README), as the server and `faq-search` read them.
CORPUS ?= $(or $(FAQ_CORPUS_DIR),corpus)
INDEX ?= $(or $(FAQ_INDEX_DIR),index)

.PHONY: run test index install browser test-debs debs screenshots clean

# A .venv left without pip (venv failed for want of Debian's python3-venv) is made again, not used.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Rebuild only when the published index no longer matches corpus/ (or is missing, or corrupt). When that
# build fails (a broken article), the problems are printed and the published index still serves; only
# with no sound index published does `make run` stop.
index: install
	@$(PY) build_index.py --corpus $(CORPUS) --out $(INDEX) --ensure

# exec: make passes a SIGTERM (systemd, kill) on to the recipe's shell only, which would die and leave gunicorn
# serving; exec'd, gunicorn is that process and stops gracefully.
run: index
	FAQ_INDEX_DIR=$(INDEX) HOST=$(HOST) PORT=$(PORT) exec $(VENV)/bin/gunicorn -c gunicorn.conf.py server:app

# Debian packages the tests drive: chromium (never a downloaded one) and CJK fonts to render Chinese for the
# browser tests, nginx for the load balancer's (deploy/nginx.conf). Installed when missing.
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
browser:
	@$(MAKE) --no-print-directory debs NEED="$$(test -x $(CHROMIUM) || echo chromium) $$(dpkg -s fonts-noto-cjk >/dev/null 2>&1 || echo fonts-noto-cjk)"

test-debs:
	@$(MAKE) --no-print-directory debs NEED="$$(test -x $(CHROMIUM) || echo chromium) $$(dpkg -s fonts-noto-cjk >/dev/null 2>&1 || echo fonts-noto-cjk) $$(test -x $(NGINX) || echo nginx)"

debs:
	@if [ -n "$$(echo $(NEED))" ]; then \
	  echo "installing $(strip $(NEED)) for the tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO="sudo -n"; \
	  else echo "need root (or sudo) to apt-get install $(strip $(NEED))" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(NEED); \
	fi

# Two passes: the tests that only compute share both cores (pytest-xdist); real servers, builders under
# load, the browser and wall-clock limits then run one at a time, never slowed down by a neighbour.
ALONE := e2e or browser or timing
test: install test-debs
	FAQ_REQUIRE_BROWSER=1 FAQ_REQUIRE_NGINX=1 $(PY) -m pytest -n 2 -m "not ($(ALONE))"
	FAQ_REQUIRE_BROWSER=1 FAQ_REQUIRE_NGINX=1 $(PY) -m pytest -m "$(ALONE)"

# Screenshots of both pages, desktop and phone, into docs/ (shown in the README).
screenshots: install browser
	FAQ_REQUIRE_BROWSER=1 FAQ_SCREENSHOTS_DIR=docs $(PY) -m pytest -q tests/test_browser.py -k screenshots

clean:
	rm -rf $(VENV) index *.egg-info .pytest_cache  # the repository's own index, never a FAQ_INDEX_DIR elsewhere
