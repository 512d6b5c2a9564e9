# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: the Python binding (bindings/python/).
# Its tests run with `python3 -m unittest` (pytest collects them too); the
# PySide2 comparison inside them re-runs under /usr/bin/python3, which is
# why PySide2 is a prerequisite.

PYTHON ?= python3
PY_SOURCES := $(wildcard bindings/python/dtlsgate/*.py) bindings/python/pyproject.toml \
	bindings/python/build_backend/dtlsgate_build.py

## test-python: the Python binding: Qt parity on loopback, QDtls, openssl and gnutls peers, asyncio, PySide2 side by side, pip install, the example ports
.PHONY: test-python
test-python: $(SO) $(PY_SOURCES) | deps-pyside
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m unittest discover -s tests/python
	tests/interop/secure_udp.sh '$(PYTHON) examples/python/secure_udp_server.py' \
		'$(PYTHON) examples/python/secure_udp_client.py'
	tests/interop/secure_udp.sh '$(PYTHON) examples/python/asyncio_echo_server.py' \
		'$(PYTHON) examples/python/secure_udp_client.py'

## bench-python: the Python binding's valid-cookie verifyClient next to the C ABI's
.PHONY: bench-python
bench-python: $(SO) $(BUILD)/bench_dtlsgate $(PY_SOURCES)
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) bench/bench_python.py $(BUILD)/bench_dtlsgate

test: test-python
bench: bench-python
