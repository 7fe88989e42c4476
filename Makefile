# backprop: the front door. Every target uses the active virtual environment when VIRTUAL_ENV is set,
# and otherwise creates and uses .venv/ here. Targets are idempotent and never prompt.
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
PORT  ?= 8000
PIP   := $(PY) -m pip --disable-pip-version-check -q -q

.PHONY: help install test docs preview lab outputs clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(PY):
	python3 -m venv $(VENV)

$(VENV)/.backprop-installed: setup.py settings.ini | $(PY)
	$(PIP) install '$(TORCH)' $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install numpy
	$(PIP) install -e ".[dev]"
	touch $@

install: $(VENV)/.backprop-installed  ## development install: the package, nbdev, JupyterLab, test tools

test: install  ## every check CI runs; ends with 'N passed, N failed'
	$(PY) tools/check.py

docs: install  ## build the documentation site into _docs/ (no Quarto needed)
	$(PY) tools/docs.py

preview: docs  ## build the site and serve it on http://127.0.0.1:$(PORT)
	@echo "Serving _docs on http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _docs

lab: install  ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=nbs --ip 127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root)

outputs: install  ## re-execute every notebook and save its outputs (the site shows them)
	$(PY) tools/check_outputs.py --refresh

clean:  ## remove built files (keeps the environment)
	rm -rf _docs _proc build dist *.egg-info
