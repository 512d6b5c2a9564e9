#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dtlsgate-proxy with real peers, on loopback: libcoap's coap-server-notls
# behind it, libcoap's DTLS clients (OpenSSL and GnuTLS builds) in front;
# a plain UDP echo service behind it for openssl s_client and the example
# C client (identities routed there by the route file); then SIGHUP and
# SIGTERM.
#
#   tests/proxy/run.sh PROXY EXAMPLE-CLIENT
#   e.g. tests/proxy/run.sh bin/dtlsgate-proxy build/examples/secure_udp_client_c
#
# Prints one PASS/FAIL line per case and "N passed, M failed"; exits 1 if
# any failed, keeping the logs.
set -u

proxy=${1:?usage: run.sh PROXY EXAMPLE-CLIENT}
example_client=${2:?usage: run.sh PROXY EXAMPLE-CLIENT}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../interop/common.sh" # wait_for, ready_port, cases_start
. "$here/../../scripts/coap.sh" # free_udp_ports, hexof

BANNER='This is a test server made with libcoap'
cases_start proxy # pass, fail, count, stop_all

# started PID: a process to end when the script does.
started() { pids="$pids $1"; }
# reaped PID: waits for it and forgets it; returns its status.
reaped() {
	local status=0
	wait "$1" || status=$?
	pids=${pids// $1/}
	return "$status"
}

check() { # check NAME WHY FILE... -- COMMAND...: PASS when COMMAND succeeds
	local name=$1 why=$2 files=()
	shift 2
	while [ "$1" != -- ]; do files+=("$1"); shift; done
	shift
	if "$@"; then pass "$name"; else fail "$name" "$why" "${files[@]}" "$work/proxy.log"; fi
}


# coap ID KEY OUT [OPTION...] URI-PATH: a libcoap client (COAP: which build)
# through the proxy, at most 20 s.
COAP=coap-client-openssl
coap() {
	timeout 20 "$COAP" -B 15 -u "$1" -k "$2" "${@:4:$#-4}" "coaps://127.0.0.1:$port${*: -1}" >"$3" 2>&1
}

# --- the backends and the proxy ---------------------------------------------
coap_port=$(free_udp_ports 1)
coap-server-notls -A 127.0.0.1 -p "$coap_port" -d 4 >"$work/coap-server.log" 2>&1 &
started $!
python3 "$here/udp_echo.py" 127.0.0.1 >"$work/echo.out" 2>&1 &
echo_pid=$!
started $echo_pid
echo_port=$(ready_port "$work/echo.out" ready "$echo_pid") || { fail setup "the echo service did not start" "$work/echo.out"; exit 1; }

KEY1=first-secret-1 KEY2=the-second-key-2 KEY3=third-3
EXAMPLE_KEY=1a2b3c4d5e6f SHELL_A=5a5a5a5a5a SHELL_B=b5b5b5b5b5
write_keys() { # write_keys ID:HEX...: the PSK file, as psktool writes it
	printf '%s\n' "$@" >"$work/keys.txt"
}
write_keys "sensor-1:$(hexof $KEY1)" "sensor-2:$(hexof $KEY2)" "dtlsgate example client:$EXAMPLE_KEY" \
	"shell a:$SHELL_A" "shell b:$SHELL_B"
cat >"$work/routes.txt" <<EOF
# the plain UDP echo service; everyone else goes to the CoAP server (--backend)
dtlsgate example client 127.0.0.1:$echo_port
shell a 127.0.0.1:$echo_port
shell b 127.0.0.1:$echo_port
EOF

"$proxy" --listen 127.0.0.1:0 --backend "127.0.0.1:$coap_port" --psk-file "$work/keys.txt" \
	--route-file "$work/routes.txt" --handshake-deadline 3s --workers 2 2>"$work/proxy.log" &
proxy_pid=$!
started $proxy_pid
port=""
if wait_for "$work/proxy.log" 'msg=listening address=127.0.0.1:[0-9]+' 10; then
	port=$(sed -n 's/.*msg=listening address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/proxy.log")
fi
[ -n "$port" ] || { fail setup "the proxy did not start" "$work/proxy.log"; exit 1; }

# --- CoAP: a wrong key (in the background), two identities, both libraries --
# The wrong key's handshake cannot complete (neither side reads the other's
# Finished): the proxy gives up at its 3 s deadline, the client at -B.
COAP=coap-client-openssl
timeout 20 coap-client-openssl -B 5 -a 127.0.2.1 -u sensor-1 -k not-the-key "coaps://127.0.0.1:$port/" \
	>"$work/wrong.out" 2>&1 &
wrong_pid=$!
started $wrong_pid
# Observe /time for 3 s meanwhile: a notification a second.
COAP=coap-client-gnutls coap sensor-2 "$KEY2" "$work/observe.out" -s 3 /time &
observe_pid=$!
started $observe_pid

for lib in openssl gnutls; do
	COAP=coap-client-$lib
	for id in 1 2; do
		key=$KEY1
		[ $id = 1 ] || key=$KEY2
		out=$work/get-$lib-$id.out
		coap sensor-$id "$key" "$out" /
		check "coap-client-$lib sensor-$id: GET / through the proxy returns the banner" "no banner" "$out" -- \
			grep -q "$BANNER" "$out"
	done
done
check "each identity's connect is logged with its peer and cipher" "missing connect lines" -- \
	test "$(count "$work/proxy.log" 'msg=connect identity=sensor-[12] peer=127.0.0.1:[0-9]+ cipher=PSK-[A-Z0-9-]+ backend=127.0.0.1:'"$coap_port")" -ge 4

# --- block-wise: a 6.6 KB PUT in 1024-byte blocks, read back in 64-byte ones --
head -c 5000 /dev/urandom | base64 -w 0 >"$work/big.txt"
COAP=coap-client-gnutls coap sensor-2 "$KEY2" "$work/put.out" -m put -b 1024 -f "$work/big.txt" /example_data
COAP=coap-client-openssl coap sensor-1 "$KEY1" "$work/big.out" -b 64 /example_data
check "block-wise: PUT of 6.6 KB (Block1) and GET in 64-byte blocks (Block2) give it back" "content differs" \
	"$work/put.out" "$work/big.out" -- cmp -s <(tr -d '\n' <"$work/big.out") "$work/big.txt"

reaped $observe_pid
check "observe of /time: three notifications or more in 3 s" "too few" "$work/observe.out" -- \
	test "$(grep -oE '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$work/observe.out" | sort -u | wc -l)" -ge 3

reaped $wrong_pid
check "a wrong key is refused, and no session is made for it" "it got in" "$work/wrong.out" -- \
	eval "! grep -q '$BANNER' '$work/wrong.out' && ! grep -q 'msg=connect identity=sensor-1 peer=127.0.2.1:' '$work/proxy.log'"

# --- 100 CoAP clients at once, each from its own loopback address ------------
many=()
for i in $(seq 1 100); do
	id=$((i % 2 + 1)) key=$KEY1
	[ $id = 1 ] || key=$KEY2
	timeout 30 coap-client-openssl -B 25 -a "127.0.1.$i" -u "sensor-$id" -k "$key" "coaps://127.0.0.1:$port/" \
		>"$work/many-$i.out" 2>&1 &
	many+=($!)
	started $!
done
for pid in "${many[@]}"; do reaped "$pid"; done
got=$(grep -l "$BANNER" "$work"/many-*.out | wc -l)
check "100 coap-client-openssl at once all get the banner" "$got of 100" -- test "$got" -eq 100

# --- the plain UDP echo service: the example C client, openssl s_client -----
out=$work/example.out
timeout 20 "$example_client" 127.0.0.1 "$port" --count 2 --name px >"$out" 2>&1
check "example C client: two echoes from the UDP service through the proxy" "exit $?" "$out" -- \
	test "$(count "$out" '^client px: got "echo: ping [12] from px"$')" -eq 2

# s_client NAME IDENTITY KEY: an openssl s_client session kept open, fed
# through a fifo on descriptor 3 (a) or 4 (b).
s_client() {
	mkfifo "$work/$1.in"
	timeout 40 openssl s_client -dtls1_2 -quiet -psk "$3" -psk_identity "$2" -connect "127.0.0.1:$port" \
		<"$work/$1.in" >"$work/$1.out" 2>&1 &
	started $!
	eval "${1}_pid=$!"
}
s_client a "shell a" "$SHELL_A"
exec 3>"$work/a.in"
s_client b "shell b" "$SHELL_B"
exec 4>"$work/b.in"
echo "hello from a" >&3
echo "hello from b" >&4
check "openssl s_client: echo from the UDP service through the proxy (two sessions)" "no echo" "$work/a.out" "$work/b.out" -- \
	eval "wait_for '$work/a.out' '^echo: hello from a$' 10 && wait_for '$work/b.out' '^echo: hello from b$' 10"

# --- SIGHUP: shell b's key removed, sensor-3 added; shell a goes on ----------
write_keys "sensor-1:$(hexof $KEY1)" "sensor-2:$(hexof $KEY2)" "dtlsgate example client:$EXAMPLE_KEY" \
	"shell a:$SHELL_A" "sensor-3:$(hexof $KEY3)"
kill -HUP $proxy_pid
wait_for "$work/proxy.log" 'msg=reloaded keys=5 routes=3 sessions_ended=1' 10
check "SIGHUP: the removed identity's session is closed" "shell b's session goes on" "$work/b.out" -- \
	eval "wait_for '$work/proxy.log' 'msg=close identity=\"shell b\" .*reason=ClosedByApp' 10 && reaped $b_pid"
echo "after the reload" >&3
check "SIGHUP: the other sessions go on" "no echo" "$work/a.out" -- \
	wait_for "$work/a.out" '^echo: after the reload$' 10
out=$work/get-sensor-3.out
coap sensor-3 "$KEY3" "$out" /
check "SIGHUP: a new identity gets in" "no banner" "$out" -- grep -q "$BANNER" "$out"

# --- SIGTERM: close_notify to everyone, exit 0 --------------------------------
kill -TERM $proxy_pid
status=0
reaped $proxy_pid || status=$?
check "SIGTERM: exit 0, shell a's session closed by the shutdown" "exit $status" -- \
	eval "[ $status -eq 0 ] && grep -q 'msg=close identity=\"shell a\" .*reason=ClosedShutdown' '$work/proxy.log' && grep -q 'msg=stopped' '$work/proxy.log'"
check "SIGTERM: s_client hears close_notify and ends" "s_client still runs" "$work/a.out" -- reaped "$a_pid"
exec 3>&- 4>&-

cases_end
