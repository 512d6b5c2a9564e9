#!/bin/sh
# SPDX-License-Identifier: MIT
# The wheel as a user gets it: pip installs it offline into a fresh venv of
# Debian's python3 (which refuses `pip install` outside one), and the
# installed package, away from the source tree, works: its version is the
# header's, the library it loads is the one inside the wheel, the verifier
# answers a real ClientHello, the Python secure UDP example server
# (DTLS-PSK, on the installed package) echoes to the C example client, and
# so does the README's Python quick start to openssl s_client.
# Usage: scripts/test-wheel.sh WHEEL C-CLIENT
set -eu
wheel=$(realpath "${1:?usage: scripts/test-wheel.sh WHEEL C-CLIENT}")
client=$(realpath "${2:?usage: scripts/test-wheel.sh WHEEL C-CLIENT}")
root=$(cd "$(dirname "$0")/.." && pwd)
python=${WHEEL_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "test-wheel: FAIL: $*" >&2; exit 1; }
version=$(sed -n 's/^#define DTLSGATE_VERSION "\(.*\)"$/\1/p' "$root/include/dtlsgate.h")
# Nothing from the environment may point the venv at the source tree.
unset PYTHONPATH DTLSGATE_LIBRARY PYTHONHOME
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1

case $(basename "$wheel") in
dtlsgate-"$version"-py3-none-linux_x86_64.whl) ;;
*) fail "$(basename "$wheel") is not named for version $version and this platform" ;;
esac
"$python" -m venv "$tmp/venv" || fail "$python -m venv (Debian: apt-get install python3-venv)"
py=$tmp/venv/bin/python
"$py" -m pip install --no-cache-dir "$wheel" >"$tmp/pip.log" 2>&1 ||
	{ cat "$tmp/pip.log" >&2; fail "pip install --no-index $wheel"; }

cd "$tmp"
"$py" -E -s - "$version" "$root/tests/corpus/openssl_dtls12.bin" "$tmp/venv" <<'PY' ||
import os, sys
import dtlsgate
version, hello_file, venv = sys.argv[1:]
assert dtlsgate.__version__ == version, (dtlsgate.__version__, version)
assert dtlsgate.library_version() == version, dtlsgate.library_version()
path = os.path.realpath(dtlsgate.library_path())
assert path.startswith(os.path.realpath(venv) + os.sep), path
assert os.path.dirname(path) == os.path.dirname(os.path.realpath(dtlsgate.__file__)), path
with open(hello_file, "rb") as f:
    hello = f.read()
with dtlsgate.QDtlsClientVerifier() as v:
    first = v.check(hello, "192.0.2.1", 5684)
    assert first.verdict == dtlsgate.CheckVerdict.SendReply, first.verdict
print("test-wheel: dtlsgate", dtlsgate.__version__, "from", path, "sent a HelloVerifyRequest of",
      len(first.reply), "bytes")
PY
	fail "the installed package"
license=$(find "$tmp/venv" -path '*dtlsgate-*.dist-info/licenses/THIRD_PARTY_NOTICES')
[ -n "$license" ] || fail "the wheel installed no THIRD_PARTY_NOTICES"

# The example server, copied out of the tree so that only the venv provides dtlsgate.
mkdir "$tmp/example"
cp "$root"/examples/python/*.py "$tmp/example/"
port=$("$py" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$py" -E -s "$tmp/example/secure_udp_server.py" 127.0.0.1 "$port" >"$tmp/server.log" 2>&1 &
server=$!
out=$(timeout 20 "$client" 127.0.0.1 "$port" --name wheel --count 2 2>&1) ||
	{ echo "$out" >&2; cat "$tmp/server.log" >&2; fail "the C client against the Python server from the wheel"; }
echo "$out" | grep -q 'got "echo: ping 2 from wheel"' ||
	{ echo "$out" >&2; fail "no echo from the Python server from the wheel"; }
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
server=

# The README's Python quick start, run by the venv's python as a reader
# would, tried with openssl s_client (the quick start's own key).
python3 "$root/tests/readme/run.py" "$root/README.md" --print python >"$tmp/echo_server.py"
"$py" -E -s "$tmp/echo_server.py" >"$tmp/quickstart.log" 2>&1 &
server=$!
i=0
until grep -q '^listening on ' "$tmp/quickstart.log"; do
	i=$((i + 1))
	[ "$i" -le 100 ] && kill -0 "$server" 2>/dev/null ||
		{ cat "$tmp/quickstart.log" >&2; fail "the README's Python quick start did not start"; }
	sleep 0.1
done
out=$( (echo hello; sleep 2) | timeout 15 openssl s_client -dtls1_2 -psk 1a2b3c4d5e6f -psk_identity me \
	-connect 127.0.0.1:5684 -quiet 2>&1) || true
echo "$out" | grep -q '^echo: hello$' ||
	{ echo "$out" >&2; cat "$tmp/quickstart.log" >&2; fail "no echo from the README's Python quick start"; }
echo "test-wheel: OK: $(basename "$wheel") installed offline into a venv of $python; its package" \
	"checked a ClientHello, its example server and the README's Python quick start echoed over DTLS-PSK"
