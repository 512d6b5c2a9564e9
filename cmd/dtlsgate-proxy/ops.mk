# SPDX-License-Identifier: MIT
# Included by the top-level Makefile after cmd/dtlsgate-proxy/proxy.mk: the
# proxy's act in `make demo` (scripts/demo.sh), its CoAP benchmark against
# libcoap with OpenSSL in `make bench` (bench/proxy.sh), and the licenses of
# what it links (its metrics bring the Prometheus client library).

demo: $(PROXY) | deps-test

## bench-proxy: CoAP over DTLS-PSK, handshakes/s and requests/s: dtlsgate-proxy (1 worker, every core) + coap-server-notls against coap-server-openssl -k
.PHONY: bench-proxy
bench-proxy: $(BUILD)/bench_loadgen $(PROXY) | deps-test
	bench/proxy.sh $(BUILD)/bench_loadgen $(PROXY)

# `make bench` runs bench/proxy.sh after bench/load.sh.
bench: $(BUILD)/bench_loadgen $(PROXY) | deps-test

## test-proxy-ops: `make demo` (the proxy's act included) and the CoAP benchmark briefly: each fails when the proxy, its metrics, libcoap's client or the load generator's CoAP check does
.PHONY: test-proxy-ops
test-proxy-ops: demo $(BUILD)/bench_loadgen $(PROXY) | deps-test
	LOAD_SMOKE=1 bench/proxy.sh $(BUILD)/bench_loadgen $(PROXY)

## test-proxy-license: THIRD_PARTY_NOTICES and cmd/dtlsgate-proxy/THIRD_PARTY_NOTICES name every module linked into bin/dtlsgate-proxy
.PHONY: test-proxy-license
test-proxy-license: $(PROXY)
	scripts/check-notices.sh $(PROXY) THIRD_PARTY_NOTICES cmd/dtlsgate-proxy/THIRD_PARTY_NOTICES

test: test-proxy-ops test-proxy-license
