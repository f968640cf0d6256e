#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the bpfilter selftests (sourced).
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

SELFTEST_DIR=$(dirname "$(readlink -f "$0")")
# The repository root: the first folder above the running script that holds uapi/.
REPO_DIR=$SELFTEST_DIR
while [ "$REPO_DIR" != / ] && [ ! -f "$REPO_DIR/uapi/linux/bpfilter_ipc.h" ]; do
	REPO_DIR=$(dirname "$REPO_DIR")
done
# Programs built from this folder: installed beside the scripts by kselftest,
# or in the repository's build/selftests (make selftests-build).
if [ -z "$BPFILTER_SELFTEST_BIN" ] && [ -x "$SELFTEST_DIR/udp_flow" ]; then
	BPFILTER_SELFTEST_BIN=$SELFTEST_DIR
fi
SELFTEST_BIN=${BPFILTER_SELFTEST_BIN:-$REPO_DIR/build/selftests}
IPT=${IPT:-iptables-legacy}

fail() { echo "FAIL: $*"; exit $KSFT_FAIL; }
skip() { echo "SKIP: $*"; exit $KSFT_SKIP; }
log() { echo "$*"; }

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1 (apt-get install $2)"; }
need_bin() {
	[ -x "$SELFTEST_BIN/$1" ] || fail "$SELFTEST_BIN/$1 missing: run make selftests-build"
}

# A pair of network namespaces $NS_A (10.11.0.1) and $NS_B (10.11.0.2) joined by a veth pair.
NS_A=bpft-a-$$
NS_B=bpft-b-$$
ADDR_A=10.11.0.1
ADDR_B=10.11.0.2

netns_pair_up() {
	ip netns add "$NS_A" || fail "ip netns add $NS_A"
	ip netns add "$NS_B" || fail "ip netns add $NS_B"
	ip -n "$NS_A" link add veth0 type veth peer name veth0 netns "$NS_B" || fail "veth pair"
	ip -n "$NS_A" addr add "$ADDR_A/24" dev veth0
	ip -n "$NS_B" addr add "$ADDR_B/24" dev veth0
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" link set lo up
		ip -n "$ns" link set veth0 up || fail "link up in $ns"
	done
	trap netns_pair_down EXIT
}

netns_pair_down() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
}

# expect_flow RECEIVED WHAT: sends 20 datagrams, logs what arrived, and fails
# unless RECEIVED of them did.
expect_flow() {
	local got

	got=$(udp_flow 20) || fail "udp_flow"
	log "$2: $got"
	[ "$got" = "sent 20 received $1" ] || fail "$2: $got"
}

# port5000_packets: the packet counter of the udp dpt:5000 rule in $NS_B's INPUT.
port5000_packets() {
	ip netns exec "$NS_B" "$IPT" -w -L INPUT -v -x -n | awk '/udp dpt:5000/ { print $1 }'
}

# udp_flow COUNT: sends COUNT datagrams from $NS_A to $ADDR_B:5000 in $NS_B; prints what arrived.
udp_flow() {
	"$SELFTEST_BIN/udp_flow" --from-ns "/run/netns/$NS_A" --to-ns "/run/netns/$NS_B" \
		--to "$ADDR_B" --port 5000 --count "$1" --wait-ms 500
}
