# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: the in-memory comparison with OpenSSL 3
# and GnuTLS 3 (bench/inmem*.c, bench/inmem.sh) and the Qt server loop
# (bench/qt_inprocess.cpp), whose table ends `make bench`, and the server
# endpoint under load over loopback (bench/load.sh).

.PHONY: deps-bench
deps-bench:
	@scripts/ensure-deps.sh build test qt bench

INMEM_DEPS := bench/inmem.c bench/inmem.h
INMEM_CFLAGS := -std=c11 -O2 $(CFLAGS_STRICT)

$(BUILD)/bench_inmem_dtlsgate: bench/inmem_dtlsgate.c $(INMEM_DEPS) $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CC) $(INMEM_CFLAGS) -Iinclude -o $@ $< bench/inmem.c $(LDFLAGS_SHARED)

$(BUILD)/bench_inmem_openssl: bench/inmem_openssl.c $(INMEM_DEPS) | deps-bench
	@mkdir -p $(@D)
	$(CC) $(INMEM_CFLAGS) $$(pkg-config --cflags openssl) -o $@ $< bench/inmem.c \
		$$(pkg-config --libs openssl)

$(BUILD)/bench_inmem_gnutls: bench/inmem_gnutls.c $(INMEM_DEPS) | deps-bench
	@mkdir -p $(@D)
	$(CC) $(INMEM_CFLAGS) $$(pkg-config --cflags gnutls) -o $@ $< bench/inmem.c \
		$$(pkg-config --libs gnutls)

$(BUILD)/bench_qt_inprocess: bench/qt_inprocess.cpp tests/common/dtls_bytes.h $(CPP_QT_HEADERS) \
		$(HEADER) $(SO) | deps-bench
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -O2 -fPIC $(CFLAGS_STRICT) -Iinclude -Ibindings/cpp -Itests/common \
		-o $@ $< $(QT_FLAGS) $(LDFLAGS_SHARED)

BENCH_INMEM := $(BUILD)/bench_inmem_dtlsgate $(BUILD)/bench_inmem_openssl \
	$(BUILD)/bench_inmem_gnutls $(BUILD)/bench_qt_inprocess

## bench-inmem: dtlsgate next to OpenSSL 3 and GnuTLS 3 in memory, dirty vector state, Qt server loop: one table of ratios
.PHONY: bench-inmem
bench-inmem: $(BENCH_INMEM) | deps-bench
	bench/inmem.sh $(BUILD) $(GO)

# `make bench` builds them; its recipe runs bench/inmem.sh last.
bench: $(BENCH_INMEM)

# The endpoint under load from another process (bench/load.sh): the C
# echo server on the managed C ABI, the load generator on core/session.
$(BUILD)/bench_endpoint_server: bench/endpoint_server.c examples/c/example.h $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 $(CFLAGS_STRICT) -Iinclude -o $@ $< $(LDFLAGS_SHARED)

$(BUILD)/bench_loadgen: $(wildcard bench/loadgen/*.go) $(GO_SOURCES) $(wildcard internal/*/*.go)
	@mkdir -p $(@D)
	$(GO) build -o $@ ./bench/loadgen

BENCH_LOAD := $(BUILD)/bench_endpoint_server $(BUILD)/bench_loadgen $(BUILD)/examples/diy_udp_server_c

## bench-load: handshakes/s and echoes/s of the endpoint (1 worker, every core) and the C example server, from a load generator in another process; a squatter flood
.PHONY: bench-load
bench-load: $(BENCH_LOAD)
	bench/load.sh $(BUILD)

bench: $(BENCH_LOAD)

## test-bench: each benchmark program briefly (they stop with an error on a failed handshake, a record that does not round-trip, a cookie that does not verify)
.PHONY: test-bench
test-bench: $(BENCH_INMEM) $(BENCH_LOAD) | deps-bench
	for p in dtlsgate openssl gnutls; do \
		BENCH_SECONDS=0.01 $(BUILD)/bench_inmem_$$p >/dev/null || exit 1; \
	done
	BENCH_SECONDS=0.01 $(BUILD)/bench_inmem_dtlsgate dirty >/dev/null
	BENCH_QT_ROUNDS=20 $(BUILD)/bench_qt_inprocess tests/corpus/openssl_dtls12.bin >/dev/null
	LOAD_SMOKE=1 bench/load.sh $(BUILD)

test: test-bench
