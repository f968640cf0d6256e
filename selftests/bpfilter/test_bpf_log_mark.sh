#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: a LOG rule and a MARK rule, run as the helper's
# programs (through bpf_nf_log and bpf_nf_set_mark), then a rule matching the
# mark that drops: the flow is dropped, the counters and the kernel log lines
# are those of netfilter's own LOG and MARK for the same flow, and
# netfilter's own table holds no rule.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
need_cmd "$IPT-restore" iptables
need_cmd dmesg util-linux
PREFIX="bpft-log: "
ORIG_LOG_ALL=$(sysctl -n net.netfilter.nf_log_all_netns) ||
	skip "no net.netfilter.nf_log_all_netns: this kernel lacks CONFIG_NF_LOG_SYSLOG"
trap 'sysctl -qw net.netfilter.nf_log_all_netns=$ORIG_LOG_ALL; bpf_cleanup' EXIT
# LOG writes lines for packets of other network namespaces only with this.
sysctl -qw net.netfilter.nf_log_all_netns=1

rules() {
	cat <<RULES
*filter
-A INPUT -p udp --dport 5000 -j LOG --log-prefix "$PREFIX" --log-level 6 --log-ip-options --log-uid
-A INPUT -p udp --dport 5000 -j MARK --set-xmark 0x7/0xff
-A INPUT -p udp --dport 5000 -m mark --mark 0x7/0xff -j DROP
COMMIT
RULES
}

# The LOG lines of the flow, without what differs between two flows: the
# time, the IP ID and the source port (udp_flow's socket is a new one).
log_lines() {
	dmesg | grep -F "$PREFIX" | sed -e 's/^\[[ 0-9.]*\] //' \
		-e 's/ ID=[0-9]*//' -e 's/ SPT=[0-9]*//'
}

# run WHO: restores the rules, sends the flow and prints what came of it.
run() {
	dmesg -C
	rules | ip netns exec "$NS_B" "$IPT-restore" -w || fail "$1: iptables-restore"
	udp_flow 20 || fail "$1: udp_flow"
	ipt -L INPUT -v -x -n | tail -n +3
	log_lines | sort | uniq -c
}

compare_with_netfilter run
echo "$got" | grep -q "sent 20 received 0" || fail "the marked flow was not dropped"
lines=$(echo "$got" | awk '/ IN=veth0 / { n += $1 } END { print n + 0 }')
[ "$lines" = 20 ] || fail "$lines LOG lines for the 20 datagrams"
echo "PASS: the helper's programs logged and marked as netfilter does"
exit $KSFT_PASS
