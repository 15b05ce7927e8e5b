#!/usr/bin/env bash
# Installs what building proxywatch needs on a fresh Debian machine (a Go
# toolchain) and, with --test, the external programs the test suite uses.
# Idempotent: installed packages are left as they are.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
need=()
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || need+=(golang-go ca-certificates)
if [ "${1:-}" = "--test" ]; then
	# Peers and oracles the integration tests run, by the program each
	# package provides:
	#   tshark, nfdump (nfcapd)  decode NetFlow/IPFIX: the simulator's and the collector's oracles
	#   softflowd, tcpdump       a real NetFlow exporter, and recording its export
	#   rbldnsd                  the DNSBL differential test
	#   fail2ban, sshguard       the login detectors' peers
	#   nginx, caddy             forward-auth end to end
	#   nft, ipset, ip           firewall exports applied inside test network namespaces
	#   mmdblookup               reads the simulator's MaxMind-layout databases
	for pair in tshark:tshark nfcapd:nfdump softflowd:softflowd tcpdump:tcpdump rbldnsd:rbldnsd \
		fail2ban-regex:fail2ban sshg-parser:sshguard nginx:nginx-light caddy:caddy \
		nft:nftables ipset:ipset iptables:iptables ip:iproute2 curl:curl bc:bc python3:python3 \
		mmdblookup:mmdb-bin; do
		prog=${pair%%:*} pkg=${pair#*:}
		command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || [ -x "/usr/libexec/sshguard/$prog" ] || need+=("$pkg")
	done
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
