# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: dtlsgate-proxy, DTLS-PSK in front of a
# plain UDP service (cmd/dtlsgate-proxy, internal/proxy). Built by `make`,
# installed by `make install`, tested by `make test`.

PROXY := bin/dtlsgate-proxy
PROXY_SOURCES := go.mod go.sum $(shell find core internal cmd/dtlsgate-proxy -name '*.go' ! -name '*_test.go')
BINDIR ?= $(PREFIX)/bin

all: $(PROXY)

# Pure Go, without cgo: one static binary, the same on any Linux.
$(PROXY): $(PROXY_SOURCES) $(HEADER) | deps
	@mkdir -p $(@D)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-X main.buildVersion=$(VERSION)' -o $@ ./cmd/dtlsgate-proxy

.PHONY: install-proxy
install-proxy: $(PROXY)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(PROXY) $(DESTDIR)$(BINDIR)/
install: install-proxy

.PHONY: clean-proxy
clean-proxy:
	rm -rf bin
clean: clean-proxy

## test-proxy: dtlsgate-proxy: its Go tests (-race); libcoap's clients (OpenSSL, GnuTLS) through it to coap-server-notls (two identities, a wrong key, block-wise, observe, 100 at once), openssl s_client and the example C client to a UDP echo service, SIGHUP and SIGTERM; the example configuration and the systemd unit (systemd-analyze verify)
.PHONY: test-proxy
test-proxy: $(PROXY) $(BUILD)/examples/secure_udp_client_c | deps-test
	$(GO) test -race -count=1 ./internal/proxy ./cmd/dtlsgate-proxy
	tests/proxy/run.sh $(PROXY) $(BUILD)/examples/secure_udp_client_c
	tests/proxy/unit.sh $(PROXY)
test: test-proxy
