#!/usr/bin/env bash
# Installs what building proxywatch needs on a fresh Debian machine (a Go
# toolchain) and, with --test, the external programs the test suite uses.
# Idempotent: installed packages are left as they are.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
need=()
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || need+=(golang-go ca-certificates)
if [ "${1:-}" = "--test" ]; then
	# tshark and nfdump decode the simulator's NetFlow/IPFIX output in tests.
	command -v tshark >/dev/null 2>&1 || need+=(tshark)
	command -v nfcapd >/dev/null 2>&1 || need+=(nfdump)
	command -v rbldnsd >/dev/null 2>&1 || need+=(rbldnsd)
fi
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: need root to install: ${need[*]}" >&2
		exit 1
	fi
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
