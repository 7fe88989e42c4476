# backprop: the front door. Every target uses the active virtual environment when VIRTUAL_ENV is set,
# and otherwise creates and uses .venv/ here. Targets are idempotent and never prompt. Only `make browser` needs
# root (it installs Debian's Chromium with apt-get); every other target writes only to the environment and here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)
BIN  := $(VENV)/bin
PY   := $(BIN)/python
# The library asks for torch>=2.1 (settings.ini). The development install pins one release, which installs
# quickly where a wheel of it is at hand; `make install TORCH=torch` takes whatever pip picks instead, and
# TORCH_INDEX names another package index for it (such as PyTorch's CPU-only wheels).
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
# constraints.txt pins every other package to the versions the saved outputs come from, frozen on Python 3.11.7;
# some of those need 3.11.5 or newer (soupsieve 4.1.3), so they apply from 3.11.5 to the last 3.11. Other Pythons
# (Debian 12's 3.11.2 among them), and CONSTRAINTS=, get the newest releases that settings.ini allows.
ifeq ($(origin CONSTRAINTS),undefined)
CONSTRAINTS := $(shell $(if $(wildcard $(PY)),$(PY),python3) -c \
  'import sys; print("constraints.txt" if (3, 11, 5) <= sys.version_info[:3] < (3, 12) else "")' 2>/dev/null)
endif
PORT  ?= 8000
PIP   := $(PY) -m pip --disable-pip-version-check

# The site's maths: KaTeX from the npm registry (the version smalldocs writes its pages for), kept in the
# environment; KATEX_DIR names another copy of KaTeX's dist/ folder instead (such as Debian's libjs-katex).
KATEX_VERSION ?= 0.16.11
KATEX_DIR ?=
KATEX := $(VENV)/share/katex/katex.min.js

.PHONY: help install test docs preview readme lab outputs clean browser katex free-port exercises

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(PY):
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
	  || { echo "backprop needs Python 3.9 or newer as python3"; exit 1; }
	python3 -m venv $(VENV)
	@# the pip that a Python ships with can be old (Debian 12's 23.0 cannot resolve the constraints): take a current one
	$(VENV)/bin/python -m pip --disable-pip-version-check install -q --upgrade pip

$(VENV)/.backprop-installed: setup.py settings.ini $(CONSTRAINTS) | $(PY)
	@echo "installing $(TORCH)$(if $(TORCH_INDEX), from $(TORCH_INDEX)): without a wheel cache, the first download is about 2 GB"
	$(PIP) install --progress-bar on '$(TORCH)' $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	$(PIP) install -q numpy $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	@echo "installing backprop (editable) with nbdev, JupyterLab, smalldocs, Playwright and the test tools"
	$(PIP) install --progress-bar on -e ".[dev]" $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	touch $@

install: $(VENV)/.backprop-installed  ## development install: the package, nbdev, JupyterLab, test tools (no root)

test: install katex  ## every check CI runs; ends with 'N passed, N failed' (the browser check needs Chromium)
	$(PY) tools/check.py

docs: install katex  ## build the documentation site into _docs/ (offline, no Quarto, no browser)
	$(if $(KATEX_DIR),KATEX_DIR='$(KATEX_DIR)') $(PY) tools/docs.py

preview: free-port docs  ## build the site and serve it on http://127.0.0.1:8000 (PORT= for another port)
	@echo "Serving _docs on http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _docs

readme: | $(PY)  ## write README.md from nbs/index.ipynb (nbdev_readme writes another rendering: run this after it)
	$(PY) tools/readme.py

free-port:
	@python3 -c 'import socket as s; k = s.socket(); k.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1); k.bind(("127.0.0.1", $(PORT)))' \
	  2>/dev/null || { echo "make preview: port $(PORT) is busy: choose another, e.g. make preview PORT=8001"; exit 1; }

katex: $(if $(KATEX_DIR),,$(KATEX))  ## a local copy of KaTeX for the site's maths (npm registry)

$(KATEX): | $(PY)
	@command -v npm >/dev/null || { echo "make katex: KaTeX comes from the npm registry: install Node.js and npm," \
	  "or set KATEX_DIR to a KaTeX dist/ folder (katex.min.js, katex.min.css, contrib/, fonts/)"; exit 1; }
	rm -rf $(VENV)/share/katex.tmp && mkdir -p $(VENV)/share/katex.tmp
	cd $(VENV)/share/katex.tmp && npm pack --silent katex@$(KATEX_VERSION) >/dev/null \
	  && tar xzf katex-$(KATEX_VERSION).tgz --strip-components=2 package/dist && rm katex-$(KATEX_VERSION).tgz
	rm -rf $(VENV)/share/katex && mv $(VENV)/share/katex.tmp $(VENV)/share/katex

browser:  ## headless Chromium for the browser check of `make test`: Debian's, installed with apt-get as root
	@if [ -n "$$CHROMIUM" ]; then \
	  command -v "$$CHROMIUM" >/dev/null || { echo "make browser: CHROMIUM=$$CHROMIUM is not a program"; exit 1; }; \
	elif ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null; then \
	  [ "$$(id -u)" = 0 ] || { echo "make browser: Chromium is missing, and installing it needs root: as root, run" \
	    "make browser (or apt-get install chromium chromium-driver); or set CHROMIUM to a Chromium program"; exit 1; }; \
	  echo "installing Debian's chromium and chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

lab: install  ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=nbs --ip 127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root)

exercises: install  ## write exercises/ from the Block notebooks and check them: solutions pass, a planted mistake fails with its hint
	$(PY) tools/exercises.py
	$(PY) tools/check_exercises.py

outputs: install  ## re-execute every notebook, slow cells too, and save its outputs (the site shows them)
	$(PY) tools/check_outputs.py --refresh --slow

clean:  ## remove built files (keeps the environment)
	rm -rf _docs _proc build dist *.egg-info
