#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: REJECT rules, one per --reject-with for UDP and TCP,
# run as the helper's programs (through bpf_nf_reject_ipv4) and answer each
# flow exactly as netfilter's own REJECT answers it, with the same counters,
# while netfilter's own table holds no rule. Then fail2ban's commands: its
# chain, its jump and one ban, which rejects the banned address until unban.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
need_bin reject_probe
need_cmd "$IPT-restore" iptables
# Every probe gets its ICMP error: no per-peer rate limit (icmp_ratelimit).
ip netns exec "$NS_B" sysctl -qw net.ipv4.icmp_ratelimit=0 ||
	fail "sysctl net.ipv4.icmp_ratelimit in $NS_B"

WITHS="icmp-net-unreachable icmp-host-unreachable icmp-proto-unreachable
icmp-port-unreachable icmp-net-prohibited icmp-host-prohibited
icmp-admin-prohibited"

rules() {
	local port=6000 w

	echo "*filter"
	for w in $WITHS; do
		echo "-A INPUT -p udp --dport $port -j REJECT --reject-with $w"
		echo "-A INPUT -p tcp --dport $port -j REJECT --reject-with $w"
		port=$((port + 1))
	done
	echo "-A INPUT -p tcp --dport 6100 -j REJECT --reject-with tcp-reset"
	echo "COMMIT"
}

# probe PROTO PORT: what answered one flow from $NS_A to $ADDR_B:PORT.
probe() {
	"$SELFTEST_BIN/reject_probe" --from-ns "/run/netns/$NS_A" \
		--to-ns "/run/netns/$NS_B" --to "$ADDR_B" --port "$2" --proto "$1" \
		--wait-ms 2000 || fail "reject_probe $1 $2"
}

probe_all() {
	local port proto

	for port in 6000 6001 6002 6003 6004 6005 6006 6100 7000; do
		for proto in udp tcp; do
			echo "$proto $port: $(probe $proto $port)"
		done
	done
}

# The rules with their counters, as iptables lists them (the policy's count,
# which also sees the accepted connections' later packets, is left out).
listing() {
	ipt -L INPUT -v -x -n | tail -n +3
}

# Every reply, then the rules' counters.
run() {
	rules | ip netns exec "$NS_B" "$IPT-restore" -w || fail "$1: iptables-restore"
	probe_all
	listing
}

compare_with_netfilter run
log "every --reject-with answered as netfilter's, counters equal"

# fail2ban's iptables-multiport action: start, ban, unban.
ipt -F INPUT || fail "flush INPUT"
ipt -N f2b-sshd && ipt -A f2b-sshd -j RETURN &&
	ipt -I INPUT -p tcp -m multiport --dports 22 -j f2b-sshd ||
	fail "fail2ban's start commands"
[ "$(probe tcp 22)" = "accepted" ] || fail "port 22 before the ban: $(probe tcp 22)"
ipt -I f2b-sshd 1 -s "$ADDR_A" -j REJECT --reject-with icmp-port-unreachable ||
	fail "fail2ban's ban command"
own=$(netfilter_rules INPUT)
[ "$own" = "-P INPUT ACCEPT" ] ||
	fail "netfilter's own INPUT holds rules (the ban was not compiled): $own"
banned=$(probe tcp 22)
[ "$banned" = "icmp type 3 code 3 from $ADDR_B" ] || fail "banned flow got: $banned"
ipt -D f2b-sshd -s "$ADDR_A" -j REJECT --reject-with icmp-port-unreachable ||
	fail "fail2ban's unban command"
[ "$(probe tcp 22)" = "accepted" ] || fail "port 22 after the unban: $(probe tcp 22)"
log "fail2ban: ban rejected ($banned), unban accepted"
echo "PASS: the helper's programs rejected as netfilter does"
exit $KSFT_PASS
