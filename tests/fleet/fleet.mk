# SPDX-License-Identifier: MIT
# Included by the top-level Makefile: `make test-fleet` (tests/fleet), the
# proxy as a fleet behind nginx's UDP load balancer (docs/deploy.md).

.PHONY: deps-fleet test-fleet
deps-fleet:
	@scripts/ensure-deps.sh build fleet

## test-fleet: three dtlsgate-proxy nodes with one fleet key behind nginx's UDP load balancer: a cookie from one node good on the others, 60 clients spread, a node killed and its clients back on the others, a node added, connection IDs naming their node
test-fleet: $(PROXY) | deps-fleet
	$(GO) vet -tags fleet ./tests/fleet
	$(GO) test -tags fleet -count=1 -timeout 120s ./tests/fleet -proxy $(CURDIR)/$(PROXY)
test: test-fleet
