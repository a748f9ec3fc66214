# Two commands from a fresh clone: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test bench clean

$(BIN)/questlog: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[embed,test]'
	touch $(BIN)/questlog

setup: $(BIN)/questlog

demo: setup
	$(BIN)/questlog demo

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/questlog bench ingest --papers 300 --json

clean:
	rm -rf .questlog
