#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: -m limit runs as the helper's programs (a token bucket
# in a map, credits in jiffies as xt_limit counts them), and a burst, a pause
# and a second burst pass exactly the datagrams that netfilter's own limit
# passes, with the same counters, while netfilter's own table holds no rule.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
need_cmd "$IPT-restore" iptables
# xt_limit counts credits in jiffies: the helper needs the kernel's HZ,
# from /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-<release>.
[ -e /proc/config.gz ] || [ -e "/boot/config-$(uname -r)" ] ||
	skip "no kernel config to learn CONFIG_HZ from: limit goes to netfilter"

rules() {
	cat <<RULES
*filter
-A INPUT -p udp --dport 5000 -m limit --limit 1/min --limit-burst 5 -j ACCEPT
-A INPUT -p udp --dport 5000 -m limit --limit 5/sec --limit-burst 2 -j ACCEPT
-A INPUT -p udp --dport 5000 -j DROP
COMMIT
RULES
}

# run WHO: restores the rules, sends a burst, waits, sends another.
run() {
	rules | ip netns exec "$NS_B" "$IPT-restore" -w || fail "$1: iptables-restore"
	udp_flow 20 || fail "$1: udp_flow"
	sleep 1
	udp_flow 20 || fail "$1: udp_flow"
	ipt -L INPUT -v -x -n | tail -n +3
}

compare_with_netfilter run
echo "PASS: the helper's programs limited as netfilter does"
exit $KSFT_PASS
