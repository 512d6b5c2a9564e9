# SPDX-License-Identifier: MIT
# dtlsgate: build, test, install. `make help` lists the targets.

GO       ?= go
CC       ?= gcc
CXX      ?= g++
DEFAULT_PREFIX := /usr/local
PREFIX   ?= $(DEFAULT_PREFIX)
# Where the libraries, dtlsgate.pc and the CMake package go (Debian: $(PREFIX)/lib/<triplet>).
LIBDIR   ?= $(PREFIX)/lib
DESTDIR  ?=

# The header is the one place the version is written.
VERSION   := $(shell sed -n 's/^\#define DTLSGATE_VERSION "\(.*\)"$$/\1/p' include/dtlsgate.h)
SONAME    := libdtlsgate.so.0
SO        := lib/libdtlsgate.so
SO_REAL   := lib/$(SONAME)
ARCHIVE   := lib/libdtlsgate.a
HEADER    := include/dtlsgate.h
BUILD     := build

GO_SOURCES := go.mod go.sum $(shell find core capi -name '*.go' ! -name '*_test.go')
CAPI_DEPS  := $(GO_SOURCES) $(HEADER) capi/dtlsgate.map $(wildcard capi/*.c capi/*.h) capi/entry.c capi/default.pgo

# Go's build cache does not see include/dtlsgate.h, which lies outside the
# package: with its hash in the C flags, a changed header (a new constant's
# value) rebuilds the library instead of reusing a stale build.
CGO_CFLAGS ?= -g -O2
CGO_BUILD := CGO_ENABLED=1 CGO_CFLAGS='$(CGO_CFLAGS) -DDTLSGATE_HEADER_SUM=$(firstword $(shell sha256sum $(HEADER)))'

CFLAGS_STRICT := -Wall -Wextra -pedantic -Werror
TEST_CFLAGS   := -std=c11 -g -O1 $(CFLAGS_STRICT) -Iinclude -Itests/common
LDFLAGS_SHARED := -Llib -ldtlsgate -Wl,-rpath,$(CURDIR)/lib
LDFLAGS_STATIC := $(ARCHIVE) -lpthread -lresolv

# Only the dtlsgate_* functions leave the shared library, under a soname.
SO_LDFLAGS := -extldflags '-Wl,-soname,$(SONAME) -Wl,--version-script=$(CURDIR)/capi/dtlsgate.map'

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

## all: build lib/libdtlsgate.so (+ soname link), lib/libdtlsgate.a and bin/dtlsgate-proxy
.PHONY: all
all: $(SO) $(ARCHIVE)

.PHONY: deps deps-test deps-qt deps-pyside
deps:
	@scripts/ensure-deps.sh build
deps-test:
	@scripts/ensure-deps.sh build test
deps-qt:
	@scripts/ensure-deps.sh build test qt
deps-pyside:
	@scripts/ensure-deps.sh build test pyside

# The public functions: C wrappers around the cgo exports that clear the
# upper vector state first, generated from the header (committed).
capi/entry.c: $(HEADER) scripts/gen-entry.py
	python3 scripts/gen-entry.py entry $@

## pgo: profile the Go benchmarks of the hot paths into capi/default.pgo, which `go build` optimises the library with
.PHONY: pgo
pgo: | deps
	scripts/pgo.sh $(GO)

# cgo writes its own export header next to the library; the public header
# is include/dtlsgate.h, so the generated one is removed.
$(SO_REAL): $(CAPI_DEPS) | deps
	@mkdir -p lib
	$(CGO_BUILD) $(GO) build -trimpath -buildmode=c-shared -ldflags="$(SO_LDFLAGS)" -o $@ ./capi
	@rm -f lib/libdtlsgate.so.h

$(SO): $(SO_REAL)
	ln -sf $(SONAME) $@

$(ARCHIVE): $(CAPI_DEPS) | deps
	@mkdir -p lib
	$(CGO_BUILD) $(GO) build -trimpath -buildmode=c-archive -o $@ ./capi
	@rm -f lib/libdtlsgate.h

# The same library built with the Go runtime's valgrind annotations, so that
# memcheck understands Go's allocator and stacks.
$(BUILD)/valgrind/$(SONAME): $(CAPI_DEPS) | deps
	@mkdir -p $(@D)
	$(CGO_BUILD) $(GO) build -tags valgrind -buildmode=c-shared -ldflags="$(SO_LDFLAGS)" -o $@ ./capi
	@rm -f $(@D)/libdtlsgate.so.h
	ln -sf $(SONAME) $(@D)/libdtlsgate.so

# ---------------------------------------------------------------------------
# Tests

C_PROGRAMS := test_api test_session test_server
C_TESTS := $(foreach t,$(C_PROGRAMS),$(BUILD)/$(t)_shared $(BUILD)/$(t)_static)
C_TEST_DEPS := tests/c/check.h tests/c/keyscan.h tests/c/udp.h tests/common/dtls_bytes.h $(HEADER)

$(BUILD)/test_%_shared: tests/c/test_%.c $(C_TEST_DEPS) $(SO)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LDFLAGS_SHARED)

$(BUILD)/test_%_static: tests/c/test_%.c $(C_TEST_DEPS) $(ARCHIVE)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LDFLAGS_STATIC)

$(BUILD)/test_%_valgrind: tests/c/test_%.c $(C_TEST_DEPS) $(BUILD)/valgrind/$(SONAME)
	$(CC) $(TEST_CFLAGS) -o $@ $< -L$(BUILD)/valgrind -ldtlsgate -Wl,-rpath,$(CURDIR)/$(BUILD)/valgrind

# The C tests again as a host built with -mavx2 that leaves the upper vector
# state dirty around every call (tests/c/upper.h); run where the CPU has AVX2.
ifeq ($(shell uname -m),x86_64)
C_DIRTY_TESTS := $(foreach t,$(C_PROGRAMS),$(BUILD)/$(t)_dirty_shared $(BUILD)/$(t)_dirty_static)
endif
DIRTY_CFLAGS := -mavx2 -mno-vzeroupper -DDTLSGATE_TEST_DIRTY_UPPER -I$(BUILD)
C_DIRTY_DEPS := $(C_TEST_DEPS) tests/c/upper.h $(BUILD)/upper_calls.h

$(BUILD)/upper_calls.h: $(HEADER) scripts/gen-entry.py
	@mkdir -p $(@D)
	python3 scripts/gen-entry.py dirty-calls $@

$(BUILD)/test_%_dirty_shared: tests/c/test_%.c $(C_DIRTY_DEPS) $(SO)
	$(CC) $(TEST_CFLAGS) $(DIRTY_CFLAGS) -o $@ $< $(LDFLAGS_SHARED)

$(BUILD)/test_%_dirty_static: tests/c/test_%.c $(C_DIRTY_DEPS) $(ARCHIVE)
	$(CC) $(TEST_CFLAGS) $(DIRTY_CFLAGS) -o $@ $< $(LDFLAGS_STATIC)

# Every command make runs carries this id, and so does every process those
# start, so that the end of `make test` finds whatever a test left running.
ifndef DTLSGATE_TEST_RUN
DTLSGATE_TEST_RUN := $(shell cat /proc/sys/kernel/random/uuid)
endif
export DTLSGATE_TEST_RUN

# `make test` runs its targets in lanes, side by side: most of its time is
# spent waiting (handshake deadlines, retransmission timers, servers coming
# up), not computing. Within a lane one target runs after the other; the
# lanes, and the builds the targets need, share TEST_JOBS job slots. What
# must not overlap shares a lane: test-readme and test-wheel both serve the
# fixed port 127.0.0.1:5684 (the rest take their ports from port 0). A
# target of `test` that is in no lane runs whenever a slot is free, and
# fails the run at its end: give a new one a lane here. Only for the goal
# `test` alone; any other command line runs as written.
TEST_JOBS ?= 5
TEST_LANE_1 := test-go test-fuzz test-c test-valgrind test-header test-symbols test-install \
	test-interop test-parity test-leftovers test-license test-version test-abi test-deb \
	test-proxy-license
TEST_LANE_2 := test-cpp-qt test-cpp
TEST_LANE_3 := test-python test-bench test-proxy test-proxy-ops
TEST_LANE_4 := test-readme test-wheel test-examples test-fleet
TEST_LANES := $(TEST_LANE_1) $(TEST_LANE_2) $(TEST_LANE_3) $(TEST_LANE_4)
ifeq ($(MAKECMDGOALS),test)
MAKEFLAGS += -j$(TEST_JOBS) --output-sync=target
# The longest lanes first: make starts the builds in this order.
test: $(TEST_LANE_2) $(TEST_LANE_3) $(TEST_LANE_4) $(TEST_LANE_1)
# test-lane A B C...: B waits for A, C for B, and so on.
test-lane = $(if $(word 2,$1),$(eval $(word 2,$1): | $(firstword $1))$(call test-lane,$(wordlist 2,$(words $1),$1)))
$(call test-lane,$(TEST_LANE_1))
$(call test-lane,$(TEST_LANE_2))
$(call test-lane,$(TEST_LANE_3))
$(call test-lane,$(TEST_LANE_4))
# Scripts run `make install` on their own, which must find both libraries
# built, not build them at the same time as this make (the Go tests need
# neither).
$(filter-out test-go test-fuzz,$(TEST_LANES)): | $(SO) $(ARCHIVE)
# ensure-deps.sh may run apt-get: one group after the other.
$(call test-lane,deps deps-test deps-qt deps-pyside deps-release deps-bench deps-fleet)
endif

## test: every test: Go (-race), a short fuzz, C (shared and static), header, symbols, valgrind, install, interop, examples, README code, Qt parity, license, version, ABI, wheel, deb; then no process of the run may be left
.PHONY: test
test: test-go test-fuzz test-c test-header test-symbols test-valgrind test-install test-interop test-examples test-readme test-parity test-leftovers
# The recipe in a rule of its own: make puts the prerequisites of the rule
# with the recipe first, before the order the lanes above set.
test:
	scripts/check-leftovers.py
	@unlaned='$(filter-out $(TEST_LANES),$^)'; [ -z "$$unlaned" ] || { echo "make test:" \
		"$$unlaned in no TEST_LANE_ of the Makefile: it ran beside the lanes, give it one" >&2; exit 1; }

## test-leftovers: the check that ends `make test` fails on a process left behind
.PHONY: test-leftovers
test-leftovers:
	PYTHONDONTWRITEBYTECODE=1 python3 -m unittest tests/leftovers/test_check_leftovers.py

## test-go: Go unit tests with the race detector, then the allocation tests without it
.PHONY: test-go
test-go: | deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Alloc' ./...

## test-c: the C API tests (verifier, authenticator, session), linked against the .so and the .a, also with a dirty upper vector state
.PHONY: test-c
test-c: $(C_TESTS) $(C_DIRTY_TESTS)
	$(foreach t,$(C_TESTS),$(t) &&) true
	if grep -qw avx2 /proc/cpuinfo; then $(foreach t,$(C_DIRTY_TESTS),$(t) &&) true; \
	else echo "test-c: no AVX2 on this CPU: the dirty upper state variants are not run"; fi

## test-header: the header alone compiles as C99 and as C++17, warnings as errors
.PHONY: test-header
test-header: $(HEADER) | deps
	printf '#include "dtlsgate.h"\nint main(void) { return dtlsgate_version_number() < 0; }\n' | \
		$(CC) -std=c99 $(CFLAGS_STRICT) -Wstrict-prototypes -Iinclude -x c -fsyntax-only -
	printf '#include "dtlsgate.h"\nint main() { return dtlsgate_version_number() < 0; }\n' | \
		$(CXX) -std=c++17 $(CFLAGS_STRICT) -Iinclude -x c++ -fsyntax-only -

## test-symbols: the .so exports exactly the functions the header declares, each through a generated entry that clears the upper vector state
.PHONY: test-symbols
test-symbols: $(SO)
	scripts/check-symbols.sh $(HEADER) $(SO) $(SONAME)
	python3 scripts/gen-entry.py check capi/entry.c
	python3 scripts/check-entry.py $(SO_REAL)

## test-valgrind: the C API tests under valgrind memcheck
.PHONY: test-valgrind
# The suppressions cover only Go-runtime memory (see the file); leaks of C
# allocations are still errors.
# Go's runtime uses RDTSCP where the CPU has it, an instruction valgrind
# 3.19 does not know (SIGILL now and then): GODEBUG turns it off.
# valgrind runs one thread at a time; without --fair-sched a thread that
# calls the library in a loop (test_server's free races: lookups no longer
# block) could keep the others waiting for minutes.
test-valgrind: $(foreach t,$(C_PROGRAMS),$(BUILD)/$(t)_valgrind) tests/c/go-runtime.supp | deps-test
	$(foreach t,$(C_PROGRAMS),GODEBUG=cpu.rdtscp=off valgrind --fair-sched=yes --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--suppressions=tests/c/go-runtime.supp -q $(BUILD)/$(t)_valgrind &&) true

## test-interop: real openssl and gnutls clients against the example C server on loopback
.PHONY: test-interop
test-interop: $(BUILD)/server_c | deps-test
	tests/interop/run.sh $(BUILD)/server_c

## test-parity: Qt 6's QDtlsClientVerifier and ours agree, datagram by datagram
.PHONY: test-parity
test-parity: $(BUILD)/parity_qt $(BUILD)/parity_dtlsgate | deps-qt
	tests/parity/run.sh $(BUILD)/parity_qt $(BUILD)/parity_dtlsgate

# ---------------------------------------------------------------------------
# Examples, demo, benchmarks

$(BUILD)/server_c: examples/c/verify_server.c examples/c/example.h $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 $(CFLAGS_STRICT) -Iinclude -o $@ $< $(LDFLAGS_SHARED)

# The secure UDP examples (examples/CONTRACT.md) in C.
EXAMPLES_C := $(BUILD)/examples/secure_udp_server_c $(BUILD)/examples/diy_udp_server_c \
	$(BUILD)/examples/secure_udp_client_c

$(BUILD)/examples/%_c: examples/c/%.c examples/c/example.h $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 $(CFLAGS_STRICT) -Iinclude -o $@ $< $(LDFLAGS_SHARED)

## test-examples: the C secure UDP servers (on the endpoint, and the DIY one) and client with each other and with openssl and gnutls; a CBC forgery search against both servers
.PHONY: test-examples
test-examples: $(EXAMPLES_C) | deps-test
	tests/interop/secure_udp.sh $(BUILD)/examples/secure_udp_server_c $(BUILD)/examples/secure_udp_client_c
	tests/interop/secure_udp.sh --diy $(BUILD)/examples/diy_udp_server_c $(BUILD)/examples/secure_udp_client_c
	tests/interop/cbc_forgery.py $(BUILD)/examples/secure_udp_server_c
	tests/interop/cbc_forgery.py $(BUILD)/examples/diy_udp_server_c

## test-readme: the README's quick starts, built with the README's commands against a scratch install and tried with its openssl s_client line, a wrong key first
.PHONY: test-readme
test-readme: $(BUILD)/cpp/readme_quickstart_qt $(SO) $(ARCHIVE) | deps-qt deps-test
	python3 scripts/check-readme.py README.md
	tests/readme/run.py README.md --server 'C++/Qt=$(BUILD)/cpp/readme_quickstart_qt'
	tests/readme/qt.sh

## demo: the C echo server on loopback; the Python client, the C client and openssl s_client each get in and get an echo; then coap-client-openssl fetches / through dtlsgate-proxy from coap-server-notls, with the proxy's log and metrics
.PHONY: demo
demo: $(EXAMPLES_C) $(SO) | deps-test
	scripts/demo.sh $(BUILD)/examples/secure_udp_server_c $(BUILD)/examples/secure_udp_client_c $(PROXY)

## bench: Go benchmarks, the C ABI next to Qt 6's QDtlsClientVerifier, handshakes next to pion, then one table against OpenSSL 3 and GnuTLS 3
.PHONY: bench
bench: $(BUILD)/bench_dtlsgate $(BUILD)/bench_qt | deps-qt
	$(GO) test -run='^$$' -bench=. -benchmem ./core/wire ./core/cookie ./core/verifier ./core/psk ./core/server
	bench/run.sh $(BUILD)/bench_dtlsgate $(BUILD)/bench_qt
	bench/session.sh $(GO)
	bench/load.sh $(BUILD)
	bench/proxy.sh $(BUILD)/bench_loadgen $(PROXY)
	bench/inmem.sh $(BUILD) $(GO)

## fuzz: each fuzz target for FUZZTIME (default 5m); `make test` runs each for 100000 executions
FUZZTIME ?= 5m
FUZZ_TARGETS := wire:FuzzParseClientHello wire:FuzzPutHelloVerifyRequest verifier:FuzzCheck session:FuzzInput session:FuzzOpen server:FuzzInput
.PHONY: fuzz test-fuzz
fuzz:
	for t in $(FUZZ_TARGETS); do \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}\$$" -fuzztime=$(FUZZTIME) ./core/$${t%%:*} || exit 1; \
	done
# A count, not a duration: Go 1.26's fuzzing coordinator can report its own
# -fuzztime deadline as a failure on a busy machine (golang/go#75804, fixed
# in Go 1.27); a count has no deadline to race.
test-fuzz: | deps
	$(MAKE) fuzz FUZZTIME=100000x

# Each of these adds its own targets, and its tests to `test` and its figures
# to `bench` (a rule with prerequisites only adds to the target's list).
include tests/parity/parity.mk
include bindings/python/python.mk
include bindings/cpp/cpp.mk
include bench/bench.mk
include packaging/release.mk
include cmd/dtlsgate-proxy/proxy.mk
include tests/fleet/fleet.mk
include cmd/dtlsgate-proxy/ops.mk

# ---------------------------------------------------------------------------
# Install

## install: header, both libraries, dtlsgate.pc and dtlsgate-static.pc under $(DESTDIR)$(PREFIX) (default /usr/local); ldconfig when that is a system library directory
.PHONY: install
install: $(SO) $(ARCHIVE) dtlsgate.pc.in dtlsgate-static.pc.in
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(HEADER) $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdtlsgate.so
	install -m 644 $(ARCHIVE) $(DESTDIR)$(LIBDIR)/
	for pc in dtlsgate dtlsgate-static; do \
		sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
			-e 's|@VERSION@|$(VERSION)|g' $$pc.pc.in \
			> $(DESTDIR)$(LIBDIR)/pkgconfig/$$pc.pc || exit 1; \
	done
	@[ -n "$(DESTDIR)" ] || scripts/ldconfig-if-system.sh $(LIBDIR)

## test-install: install into a scratch prefix (and with DESTDIR); C and C++ programs built with pkg-config and CMake, shared and static, and run; ldconfig only for system directories
.PHONY: test-install
test-install: $(SO) $(ARCHIVE)
	scripts/test-install.sh

## clean: remove build outputs
.PHONY: clean
clean:
	rm -rf lib $(BUILD)

## help: this list
.PHONY: help
help:
	@sed -n 's/^## \([^:]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 18
	@echo "Variables: PREFIX (default $(DEFAULT_PREFIX), now $(PREFIX)), DESTDIR (for staging), GO, CC, CXX, PYTHON"
