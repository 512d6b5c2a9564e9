#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the system tools the build, tests and demo need, only when one is
# missing, so a fresh Debian 12 machine gets them and a prepared one pays nothing.
# Usage: scripts/ensure-deps.sh [group...]   groups: build test qt pyside bench release fleet
set -eu

need=""
want() { # want COMMAND-OR-FILE PACKAGE
	case "$1" in
	/*) [ -e "$1" ] || need="$need $2" ;;
	*) command -v "$1" >/dev/null 2>&1 || need="$need $2" ;;
	esac
}

for group in "${@:-build}"; do
	case "$group" in
	build)
		want gcc gcc
		want g++ g++
		want make make
		want pkg-config pkg-config
		;;
	test)
		want openssl openssl
		want gnutls-cli gnutls-bin
		want valgrind valgrind
		want python3 python3
		want cmake cmake
		want coap-server-notls libcoap3-bin # dtlsgate-proxy's tests: CoAP servers and DTLS clients
		;;
	qt)
		want /usr/lib/x86_64-linux-gnu/pkgconfig/Qt6Network.pc qt6-base-dev
		want /usr/lib/x86_64-linux-gnu/qt6/plugins/tls/libqopensslbackend.so libqt6network6
		want /usr/lib/qt6/libexec/moc qt6-base-dev-tools # for the adapter's QDtls signals
		;;
	bench) # the C harnesses that run OpenSSL and GnuTLS next to dtlsgate
		want /usr/include/openssl/ssl.h libssl-dev
		want /usr/include/gnutls/dtls.h libgnutls28-dev
		;;
	pyside) # PySide2 is Debian's only Qt binding for Python; its tests run /usr/bin/python3
		want /usr/lib/python3/dist-packages/PySide2/QtNetwork.cpython-311-x86_64-linux-gnu.so python3-pyside2.qtnetwork
		;;
	release) # the ABI check, the Debian packages, the wheel's venv test
		want abidiff abigail-tools
		want dh debhelper
		want dh_python3 dh-python
		want dpkg-buildpackage dpkg-dev
		want lintian lintian
		want /usr/lib/python3.11/ensurepip/__init__.py python3-venv
		;;
	fleet) # tests/fleet runs its own nginx as a UDP load balancer, never the system's service
		want /usr/sbin/nginx nginx
		want /usr/lib/nginx/modules/ngx_stream_module.so libnginx-mod-stream
		;;
	*) echo "ensure-deps: unknown group $group" >&2; exit 2 ;;
	esac
done

[ -n "$need" ] || exit 0
echo "ensure-deps: installing$need" >&2
if [ "$(id -u)" != 0 ]; then
	echo "ensure-deps: not root; install these yourself:$need" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A package such as nginx starts its service when installed; the tests run
# their own instances, so a policy-rc.d (as in Debian's container images)
# keeps every service down during the install, and a unit systemd enabled
# is disabled again.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy
	trap 'rm -f $policy' EXIT
fi
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $need >/dev/null
case " $need " in
*" nginx "*) if command -v systemctl >/dev/null; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi ;;
esac
