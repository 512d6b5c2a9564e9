# SPDX-License-Identifier: MIT
# Shared by scripts/demo.sh, bench/proxy.sh and tests/proxy/run.sh
# (sourced): libcoap's servers on loopback ports of our choosing, since they
# print no readiness line, and keys in the two forms libcoap and psktool use.

# hexof TEXT: TEXT's bytes in hex: libcoap's -k takes a key as text, a
# psktool file (dtlsgate-proxy --psk-file) in hex.
hexof() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }

# free_udp_ports N: prints a port P such that UDP ports P to P+N-1 on
# 127.0.0.1 are free now (coap-server-openssl takes P for CoAP and P+1 for
# CoAP over DTLS).
free_udp_ports() {
	python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
for _ in range(100):
    first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    first.bind(("127.0.0.1", 0))
    port, held = first.getsockname()[1], [first]
    try:
        for k in range(1, n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            held.append(s)
            s.bind(("127.0.0.1", port + k))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(port)
    sys.exit(0)
sys.exit("no free UDP ports")
PY
}

# wait_coap PORT [SECONDS]: waits until a plain CoAP server answers a GET
# of / on 127.0.0.1:PORT, at most SECONDS (default 10).
wait_coap() {
	local i
	for i in $(seq "${2:-10}"); do
		[ -n "$(coap-client-notls -B 1 -m get "coap://127.0.0.1:$1/" 2>/dev/null)" ] && return 0
	done
	return 1
}
