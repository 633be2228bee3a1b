# Quick start: `make demo` and `make test` each create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PLUGINS := plugins/pathways-perceiver plugins/pathways-clips

.PHONY: demo test install registry clean

install: $(STAMP)

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,reference,data]' $(addprefix -e ,$(PLUGINS))
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH bash examples/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q

registry: $(STAMP)
	$(BIN)/pathways registry --write

clean:
	rm -rf $(VENV) demo-out
