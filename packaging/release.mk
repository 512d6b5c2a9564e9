# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: release engineering. License and
# version checks, the ABI check against abi/, and the packages: a Python
# wheel, Debian packages and a source tarball (all in $(DIST)).

DIST    := $(BUILD)/dist
ABI_REF := abi/$(SONAME).abi
DOCDIR   = $(DESTDIR)$(PREFIX)/share/doc/dtlsgate
WHEEL   := $(DIST)/dtlsgate-$(VERSION)-py3-none-linux_x86_64.whl
TARBALL := $(DIST)/dtlsgate-$(VERSION).tar.gz

## test-license: every source file starts with an SPDX identifier; THIRD_PARTY_NOTICES names every module linked into the library
.PHONY: test-license
test-license: $(SO)
	python3 scripts/spdx.py --check
	scripts/check-notices.sh $(SO_REAL) THIRD_PARTY_NOTICES

## test-version: the header's version is the one the library, Python package, wheel, .pc, CMake package and CHANGELOG.md give
.PHONY: test-version
test-version: $(SO) $(ARCHIVE)
	scripts/check-version.sh

# abidw's output for the library as built here, next to the committed one.
$(BUILD)/abi/$(SONAME).abi: $(SO_REAL) | deps-release
	@mkdir -p $(@D)
	abidw --no-corpus-path --no-comp-dir-path --out-file $@ $<

## test-abi: abidiff of lib/libdtlsgate.so.0 against abi/: new functions pass, anything else (removed or changed functions or types) fails
.PHONY: test-abi
test-abi: $(SO_REAL) | deps-release
	scripts/check-abi.sh $(ABI_REF) $(SO_REAL)

## abi-baseline: write abi/libdtlsgate.so.0.abi from the library as built (after an intended ABI change, or a change of how it is built)
.PHONY: abi-baseline
abi-baseline: $(BUILD)/abi/$(SONAME).abi
	cp $< $(ABI_REF)

## wheel: build/dist/dtlsgate-VERSION-py3-none-PLATFORM.whl, the Python package with the library inside
.PHONY: wheel
wheel: $(WHEEL)
$(WHEEL): $(SO) $(PY_SOURCES) LICENSE THIRD_PARTY_NOTICES $(HEADER)
	@mkdir -p $(@D)
	rm -f $(DIST)/dtlsgate-*.whl
	cd bindings/python && PYTHONDONTWRITEBYTECODE=1 python3 -c 'import sys; \
		sys.path.insert(0, "build_backend"); import dtlsgate_build; \
		print(dtlsgate_build.build_wheel(sys.argv[1]))' $(CURDIR)/$(DIST)
	test -f $@

## test-wheel: pip installs the wheel offline into a fresh venv of Debian's python3; from there: the version, a verifier on a real ClientHello, the Python DTLS-PSK example server echoing to the C client, the README's Python quick start echoing to openssl s_client
.PHONY: test-wheel
test-wheel: $(WHEEL) $(BUILD)/examples/secure_udp_client_c | deps-release
	scripts/test-wheel.sh $(WHEEL) $(BUILD)/examples/secure_udp_client_c

## deb: build/dist/*.deb (libdtlsgate0, libdtlsgate-dev, python3-dtlsgate) with debhelper, then lintian
.PHONY: deb
deb: | deps-release
	packaging/build-deb.sh $(DIST)

## test-deb: the packages unpacked into a scratch root; C and C++ programs built and run against it
.PHONY: test-deb
test-deb: deb
	packaging/test-deb.sh $(DIST)

## dist: build/dist/dtlsgate-VERSION.tar.gz, the source tree without git or build outputs
.PHONY: dist
dist:
	packaging/dist.sh $(TARBALL)

.PHONY: deps-release
deps-release:
	@scripts/ensure-deps.sh build test release

## install-doc: README.md, CHANGELOG.md, LICENSE and THIRD_PARTY_NOTICES in share/doc/dtlsgate (part of install)
.PHONY: install-doc
install-doc: README.md CHANGELOG.md LICENSE THIRD_PARTY_NOTICES
	install -d $(DOCDIR)
	install -m 644 $^ $(DOCDIR)/

install: install-doc
test: test-license test-version test-abi test-wheel test-deb
