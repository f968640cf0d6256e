#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: iptables-legacy -A INPUT -p udp --dport 5000 -j DROP
# in a netns stops a UDP flow over veth and counts the drops, while
# netfilter's own table holds no rule (the helper's programs enforce it, also
# while no helper runs), and -D restores the flow.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
rule="INPUT -p udp --dport 5000 -j DROP"

expect_flow 20 "flow before the rule"

ipt -A $rule || fail "iptables -A $rule"
expect_flow 0 "flow with the DROP rule"
pkts=$(port5000_packets)
log "rule counter: $pkts packets"
[ "$pkts" = 20 ] || fail "DROP rule counted $pkts packets, expected 20"
own=$(netfilter_rules INPUT)
[ "$own" = "-P INPUT ACCEPT" ] || fail "netfilter's own INPUT holds rules: $own"
log "netfilter's own INPUT is empty"

ipt -D $rule || fail "iptables -D $rule"
expect_flow 20 "flow after deleting the rule"
policy=$(ipt -L INPUT -v -x -n | sed -n 's/^Chain INPUT (policy ACCEPT \([0-9]*\) packets.*/\1/p')
[ "$policy" = 20 ] || fail "INPUT policy counted $policy packets after -D, expected 20"
echo "PASS: the helper's programs dropped and counted the flow"
exit $KSFT_PASS
