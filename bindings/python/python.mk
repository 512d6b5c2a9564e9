# Included by the top-level Makefile: the Python binding (bindings/python/).
# Its tests run with `python3 -m unittest` (pytest collects them too); the
# PySide2 comparison inside them re-runs under /usr/bin/python3, which is
# why PySide2 is a prerequisite.

PYTHON ?= python3
PY_SOURCES := $(wildcard bindings/python/dtlsgate/*.py) bindings/python/pyproject.toml \
	bindings/python/build_backend/dtlsgate_build.py

## test-python: the Python binding: Qt parity on loopback, openssl clients, asyncio, PySide2 side by side, pip install
.PHONY: test-python
test-python: $(SO) $(PY_SOURCES) | deps-pyside
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m unittest discover -s tests/python

## bench-python: the Python binding's valid-cookie verifyClient next to the C ABI's
.PHONY: bench-python
bench-python: $(SO) $(BUILD)/bench_dtlsgate $(PY_SOURCES)
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) bench/bench_python.py $(BUILD)/bench_dtlsgate

test: test-python
bench: bench-python
