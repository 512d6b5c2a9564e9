# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: the programs behind `make test-parity`
# (tests/parity/) and `make bench` (bench/). The Qt programs need no moc.

QT_FLAGS = $(shell pkg-config --cflags --libs Qt6Network)
PARITY_CFLAGS := -std=c11 -O1 -g $(CFLAGS_STRICT)
PARITY_CXXFLAGS := -std=c++17 -O1 -g -fPIC $(CFLAGS_STRICT)
BENCH_CFLAGS := -std=c11 -O2 $(CFLAGS_STRICT)
BENCH_CXXFLAGS := -std=c++17 -O2 -fPIC $(CFLAGS_STRICT)

$(BUILD)/parity/harness.o: tests/parity/harness.c tests/parity/harness.h tests/common/dtls_bytes.h
	@mkdir -p $(@D)
	$(CC) $(PARITY_CFLAGS) -Itests/common -c -o $@ $<

$(BUILD)/parity_dtlsgate: tests/parity/parity_dtlsgate.c tests/parity/harness.h \
		$(BUILD)/parity/harness.o $(HEADER) $(SO)
	$(CC) $(PARITY_CFLAGS) -Iinclude -o $@ $< $(BUILD)/parity/harness.o $(LDFLAGS_SHARED)

$(BUILD)/parity_qt: tests/parity/parity_qt.cpp tests/parity/harness.h \
		$(BUILD)/parity/harness.o | deps-qt
	$(CXX) $(PARITY_CXXFLAGS) -o $@ $< $(BUILD)/parity/harness.o $(QT_FLAGS)

$(BUILD)/bench/bench.o: bench/bench.c bench/bench.h tests/common/dtls_bytes.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -Itests/common -c -o $@ $<

$(BUILD)/bench_dtlsgate: bench/bench_dtlsgate.c bench/bench.h $(BUILD)/bench/bench.o \
		$(HEADER) $(SO)
	$(CC) $(BENCH_CFLAGS) -Iinclude -o $@ $< $(BUILD)/bench/bench.o $(LDFLAGS_SHARED)

$(BUILD)/bench_qt: bench/bench_qt.cpp bench/bench.h $(BUILD)/bench/bench.o | deps-qt
	$(CXX) $(BENCH_CXXFLAGS) -o $@ $< $(BUILD)/bench/bench.o $(QT_FLAGS)
