#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The iptables-legacy command matrix on the patched kernel: the same
# commands, valid and invalid, run once through the helper and once through
# netfilter (an empty bpfilter.helper hands every request to netfilter), in
# fresh network namespaces. Output, errors and exit codes must be the same.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root
need_cmd "$IPT" iptables
params=/sys/module/bpfilter/parameters
[ -w "$params/helper" ] || skip "$params/helper is missing: this kernel lacks the bpfilter series"
helper=$(cat "$params/helper")
[ -n "$helper" ] || skip "bpfilter.helper is empty: no helper to compare with netfilter"

commands=(
	"-A INPUT -p udp --dport 5000 -j DROP"
	"-I INPUT 1 -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT"
	"-A INPUT -d 198.51.100.7 ! -p udp -j DROP"
	"-N web"
	"-A web -p tcp -m multiport --dports 80,443 -j ACCEPT"
	"-A INPUT -i veth+ -j web"
	"-R INPUT 2 -p udp --dport 5001 -j DROP"
	"-P FORWARD DROP"
	"-E web www"
	"-L -n --line-numbers"
	"-S"
	"-C INPUT -p udp --dport 5001 -j DROP"
	"-C INPUT -p udp --dport 9 -j DROP"
	"-D INPUT -p udp --dport 9 -j DROP"
	"-X www"
	"-A nosuch -j ACCEPT"
	"-A INPUT -j nosuch"
	"-N loop-a"
	"-N loop-b"
	"-A loop-a -j loop-b"
	"-A loop-b -j loop-a"
	"-A INPUT -j loop-a"
	"-Z"
	"-L -v -x -n"
	"-F www"
	"-D INPUT 3"
	"-X www"
	"-F"
	"-X"
	"-S"
)

# run_matrix NETNS: every command, then save and restore, with exit codes.
run_matrix() {
	local ns=$1 c
	ip netns add "$ns" || fail "ip netns add $ns"
	for c in "${commands[@]}"; do
		echo "\$ iptables $c"
		# shellcheck disable=SC2086
		ip netns exec "$ns" "$IPT" $c 2>&1
		echo "exit $?"
	done
	ip netns exec "$ns" "$IPT" -A INPUT -p tcp --dport 80 -j ACCEPT
	ip netns exec "$ns" iptables-legacy-save | grep -v '^#' | tee "$WORK/$ns.save"
	ip netns exec "$ns" "$IPT" -F
	ip netns exec "$ns" iptables-legacy-restore <"$WORK/$ns.save"
	echo "restore exit $?"
	ip netns exec "$ns" iptables-legacy-save | grep -v '^#'
	ip netns del "$ns"
}

WORK=$(mktemp -d)
trap 'echo "$helper" > "$params/helper"; rm -rf "$WORK"' EXIT
run_matrix bpft-mx-bpf-$$ >"$WORK/bpfilter" 2>&1
echo "" >"$params/helper"
run_matrix bpft-mx-nf-$$ >"$WORK/netfilter" 2>&1
echo "$helper" >"$params/helper"

log "$(grep -c '^\$ iptables' "$WORK/bpfilter") commands, then save and restore"
if ! diff -u "$WORK/netfilter" "$WORK/bpfilter"; then
	fail "iptables through the helper differs from netfilter (- netfilter, + helper)"
fi
grep -q "^exit 1" "$WORK/bpfilter" || fail "no command failed: the invalid ones did not run"
log "identical to netfilter, errors included"
exit $KSFT_PASS
