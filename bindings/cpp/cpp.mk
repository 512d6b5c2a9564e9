# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: the C++ binding (bindings/cpp/), its
# tests (tests/cpp/), examples (examples/cpp/) and installed files.

CPP_HEADERS := bindings/cpp/dtlsgate.hpp
CPP_QT_HEADERS := $(CPP_HEADERS) bindings/cpp/dtlsgate_qt.hpp
CPP_CXXFLAGS := -std=c++17 -g -O1 $(CFLAGS_STRICT) -Iinclude -Ibindings/cpp -Itests/common
# Qt 6 wants position-independent code in programs that link it.
CPP_QT_CXXFLAGS := $(CPP_CXXFLAGS) -fPIC
CPP_CORPUS := tests/corpus

# dtlsgate::qt::QDtls is a QObject with signals: a program that uses it
# links the output of moc run on the header, once. This is the Makefile
# form of the step (README.md shows it for consumers; CMake's AUTOMOC does
# it through the dtlsgate::qt target).
QT_MOC = $(shell pkg-config --variable=libexecdir Qt6Core)/moc
CPP_QT_MOC := $(BUILD)/cpp/moc_dtlsgate_qt.o

$(BUILD)/cpp/moc_dtlsgate_qt.cpp: bindings/cpp/dtlsgate_qt.hpp | deps-qt
	@mkdir -p $(@D)
	$(QT_MOC) $(shell pkg-config --cflags-only-I Qt6Network) -f dtlsgate_qt.hpp -o $@ $<

$(CPP_QT_MOC): $(BUILD)/cpp/moc_dtlsgate_qt.cpp $(CPP_QT_HEADERS) $(HEADER) | deps-qt
	$(CXX) $(CPP_QT_CXXFLAGS) $(shell pkg-config --cflags Qt6Network) -c -o $@ $<

$(BUILD)/cpp/test_binding: tests/cpp/test_binding.cpp tests/cpp/check.hpp \
		tests/common/dtls_bytes.h $(CPP_HEADERS) $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CXX) $(CPP_CXXFLAGS) -o $@ $< $(LDFLAGS_SHARED)

$(BUILD)/cpp/verify_server: examples/cpp/verify_server.cpp $(CPP_HEADERS) $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CXX) $(CPP_CXXFLAGS) -o $@ $< $(LDFLAGS_SHARED)

$(BUILD)/cpp/secure_udp_server: examples/cpp/secure_udp_server.cpp $(CPP_HEADERS) $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CXX) $(CPP_CXXFLAGS) -o $@ $< $(LDFLAGS_SHARED)

$(BUILD)/cpp/test_qt_adapter: tests/cpp/test_qt_adapter.cpp tests/cpp/check.hpp \
		tests/common/dtls_bytes.h $(CPP_QT_HEADERS) $(CPP_QT_MOC) $(HEADER) $(SO) | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -o $@ $< $(CPP_QT_MOC) $(QT_FLAGS) $(LDFLAGS_SHARED)

$(BUILD)/cpp/test_qt_server: tests/cpp/test_qt_server.cpp tests/cpp/check.hpp \
		$(CPP_QT_HEADERS) $(CPP_QT_MOC) $(HEADER) $(SO) | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -o $@ $< $(CPP_QT_MOC) $(QT_FLAGS) $(LDFLAGS_SHARED)

$(BUILD)/cpp/qt_verify_server: examples/cpp/qt_verify_server.cpp $(CPP_QT_HEADERS) $(HEADER) \
		$(SO) | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -o $@ $< $(QT_FLAGS) $(LDFLAGS_SHARED)

# The Qt ports of the secure UDP examples (examples/CONTRACT.md).
CPP_QT_EXAMPLES := $(BUILD)/cpp/qt_secure_udp_server $(BUILD)/cpp/qt_secure_udp_client

$(BUILD)/cpp/qt_secure_udp_%: examples/cpp/qt_secure_udp_%.cpp examples/cpp/qt_example.hpp \
		$(CPP_QT_HEADERS) $(CPP_QT_MOC) $(HEADER) $(SO) | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -o $@ $< $(CPP_QT_MOC) $(QT_FLAGS) $(LDFLAGS_SHARED)

# README.md's C++/Qt quick start, built as the tests build (tests/readme/qt.sh builds it as the README says).
$(BUILD)/cpp/readme_quickstart_qt: tests/readme/qt/main.cpp $(CPP_QT_HEADERS) $(CPP_QT_MOC) $(HEADER) \
		$(SO) | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -o $@ $< $(CPP_QT_MOC) $(QT_FLAGS) $(LDFLAGS_SHARED)

# The same source on Qt's own QDtlsClientVerifier, for comparison.
$(BUILD)/cpp/qt_verify_server_qtverifier: examples/cpp/qt_verify_server.cpp | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -DUSE_QT_VERIFIER -o $@ $< $(QT_FLAGS)

# tests/parity/parity_qt.cpp, unchanged, with tests/cpp/qt_include/ first on
# the include path: Qt's program, ported to dtlsgate by its include alone.
$(BUILD)/cpp/parity_qt_adapter: tests/parity/parity_qt.cpp tests/parity/harness.h \
		tests/cpp/qt_include/QDtlsClientVerifier $(BUILD)/parity/harness.o \
		$(CPP_QT_HEADERS) $(HEADER) $(SO) | deps-qt
	@mkdir -p $(@D)
	$(CXX) $(CPP_QT_CXXFLAGS) -Itests/cpp/qt_include -o $@ $< $(BUILD)/parity/harness.o \
		$(QT_FLAGS) $(LDFLAGS_SHARED)

## test-cpp: C++ binding: the header alone, unit tests, the C++ example servers against openssl, gnutls and the C client
.PHONY: test-cpp
test-cpp: $(BUILD)/cpp/test_binding $(BUILD)/cpp/verify_server $(BUILD)/cpp/secure_udp_server \
		$(BUILD)/examples/secure_udp_client_c | deps-test
	printf '#include "dtlsgate.hpp"\nint main() { return dtlsgate::version().empty(); }\n' | \
		$(CXX) $(CPP_CXXFLAGS) -x c++ -fsyntax-only -
	$(BUILD)/cpp/test_binding $(CPP_CORPUS)
	tests/interop/run.sh $(BUILD)/cpp/verify_server
	@echo "the C++ secure UDP server (dtlsgate::DtlsServer) with the C client, openssl and gnutls:"
	tests/interop/secure_udp.sh $(BUILD)/cpp/secure_udp_server $(BUILD)/examples/secure_udp_client_c

## test-cpp-qt: Qt adapter: the header alone, unit tests, the Qt-style echo server on the adapter and on Qt's QDtls (wrong key, then right), the Qt example servers against real clients, the secure UDP examples against each other, the C ports, openssl and gnutls, parity with Qt 6
.PHONY: test-cpp-qt
test-cpp-qt: $(BUILD)/cpp/test_qt_adapter $(BUILD)/cpp/test_qt_server $(BUILD)/cpp/qt_verify_server \
		$(BUILD)/cpp/qt_verify_server_qtverifier $(BUILD)/cpp/parity_qt_adapter \
		$(BUILD)/parity_qt $(BUILD)/parity_dtlsgate $(CPP_QT_EXAMPLES) $(EXAMPLES_C) \
		$(BUILD)/cpp/readme_quickstart_qt | deps-qt deps-test
	printf '#include "dtlsgate_qt.hpp"\nint main() { return 0; }\n' | \
		$(CXX) $(CPP_QT_CXXFLAGS) $(QT_FLAGS) -x c++ -fsyntax-only -
	$(BUILD)/cpp/test_qt_adapter $(CPP_CORPUS)
	$(BUILD)/cpp/test_qt_server
	@echo "qt_verify_server on dtlsgate's verifier (the adapter):"
	tests/interop/run.sh $(BUILD)/cpp/qt_verify_server
	@echo "the same program on Qt's own QDtlsClientVerifier:"
	tests/interop/run.sh $(BUILD)/cpp/qt_verify_server_qtverifier
	tests/cpp/parity.sh $(BUILD)/parity_qt $(BUILD)/cpp/parity_qt_adapter \
		$(BUILD)/parity_dtlsgate $(CPP_CORPUS)
	@echo "the Qt secure UDP examples with each other, openssl and gnutls:"
	tests/interop/secure_udp.sh $(BUILD)/cpp/qt_secure_udp_server $(BUILD)/cpp/qt_secure_udp_client
	@echo "the Qt server with the C client, the C server with the Qt client:"
	tests/interop/secure_udp.sh $(BUILD)/cpp/qt_secure_udp_server $(BUILD)/examples/secure_udp_client_c
	tests/interop/secure_udp.sh $(BUILD)/examples/secure_udp_server_c $(BUILD)/cpp/qt_secure_udp_client
	@echo "examples/cpp/qt_echo_server with CMake and AUTOMOC, on the adapter and on Qt's QDtls:"
	tests/cpp/qt_echo.sh

test: test-cpp test-cpp-qt

$(BUILD)/cpp/test_server: tests/cpp/test_server.cpp tests/cpp/check.hpp $(CPP_HEADERS) $(HEADER) $(SO)
	@mkdir -p $(@D)
	$(CXX) $(CPP_CXXFLAGS) -o $@ $< $(LDFLAGS_SHARED)

## test-cpp-server: dtlsgate::DtlsServer, socket-less and on loopback (part of test-cpp)
.PHONY: test-cpp-server
test-cpp-server: $(BUILD)/cpp/test_server
	$(BUILD)/cpp/test_server

test-cpp: test-cpp-server

# ---------------------------------------------------------------------------
# Install: the C++ headers next to dtlsgate.h, and a CMake package
# (find_package(dtlsgate) -> dtlsgate::dtlsgate) next to dtlsgate.pc.

CMAKE_DIR = $(DESTDIR)$(LIBDIR)/cmake/dtlsgate

## install-cpp: dtlsgate.hpp, dtlsgate_qt.hpp and the CMake package files (part of install)
.PHONY: install-cpp
install-cpp: $(CPP_QT_HEADERS) cmake/dtlsgateConfig.cmake cmake/dtlsgateConfigVersion.cmake.in
	install -d $(DESTDIR)$(PREFIX)/include $(CMAKE_DIR)
	install -m 644 $(CPP_QT_HEADERS) $(DESTDIR)$(PREFIX)/include/
	install -m 644 cmake/dtlsgateConfig.cmake $(CMAKE_DIR)/
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/dtlsgateConfigVersion.cmake.in \
		> $(CMAKE_DIR)/dtlsgateConfigVersion.cmake

install: install-cpp
