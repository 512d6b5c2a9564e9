# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: dtlsgate-proxy, DTLS-PSK in front of a
# plain UDP service (cmd/dtlsgate-proxy, cmd/dtlsgate-proxy/internal/proxy). Built by `make`,
# installed by `make install`, tested by `make test`.

PROXY := bin/dtlsgate-proxy
PROXY_SOURCES := go.mod go.sum $(shell find core internal cmd/dtlsgate-proxy -name '*.go' ! -name '*_test.go')
PROXY_MAN := $(BUILD)/dtlsgate-proxy.1
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

all: $(PROXY) $(PROXY_MAN)

# Pure Go, without cgo: one static binary, the same on any Linux.
$(PROXY): $(PROXY_SOURCES) $(HEADER) | deps
	@mkdir -p $(@D)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-X main.buildVersion=$(VERSION)' -o $@ ./cmd/dtlsgate-proxy

# Its manual page is its --help.
$(PROXY_MAN): $(PROXY) scripts/manpage.py
	@mkdir -p $(@D)
	$(PROXY) --help >$@.txt
	python3 scripts/manpage.py dtlsgate-proxy 1 $(VERSION) <$@.txt >$@
	@rm -f $@.txt

.PHONY: install-proxy
install-proxy: $(PROXY) $(PROXY_MAN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(PROXY) $(DESTDIR)$(BINDIR)/
	install -m 644 $(PROXY_MAN) $(DESTDIR)$(MANDIR)/man1/
install: install-proxy

.PHONY: clean-proxy
clean-proxy:
	rm -rf bin
clean: clean-proxy

## test-proxy: dtlsgate-proxy: its Go tests (-race); libcoap's clients (OpenSSL, GnuTLS) through it to coap-server-notls (two identities, a wrong key, block-wise, observe, 100 at once), openssl s_client and the example C client to a UDP echo service, SIGHUP and SIGTERM; the example configuration and the systemd unit (systemd-analyze verify)
.PHONY: test-proxy
test-proxy: $(PROXY) $(BUILD)/examples/secure_udp_client_c | deps-test
	$(GO) test -race -count=1 ./cmd/dtlsgate-proxy/...
	tests/proxy/run.sh $(PROXY) $(BUILD)/examples/secure_udp_client_c
	tests/proxy/unit.sh $(PROXY)
test: test-proxy
