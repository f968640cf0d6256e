#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: a table with a match the helper does not compile
# (addrtype) is declined, and netfilter enforces it: the UDP flow is dropped
# and counted by the rule, which netfilter's own table holds.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
rule="INPUT -p udp --dport 5000 -m addrtype --dst-type LOCAL -j DROP"

expect_flow 20 "flow before the rule"

ipt -A $rule || fail "iptables -A $rule"
declined="-A INPUT -p udp -m udp --dport 5000 -m addrtype --dst-type LOCAL -j DROP"
ipt -S INPUT | grep -q -- "$declined" ||
	fail "iptables -S does not list the declined rule: $(ipt -S INPUT)"
netfilter_rules INPUT | grep -q -- "$declined" ||
	fail "netfilter's own INPUT lacks the declined rule: $(netfilter_rules INPUT)"
expect_flow 0 "flow with the declined DROP rule"
pkts=$(port5000_packets)
log "rule counter: $pkts packets"
[ "$pkts" = 20 ] || fail "netfilter's rule counted $pkts packets, expected 20"

ipt -D $rule || fail "iptables -D $rule"
expect_flow 20 "flow after deleting the rule"
echo "PASS: netfilter enforced the declined table"
exit $KSFT_PASS
