#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A UDP flow between two network namespaces over veth is dropped by an INPUT
# rule, counted by it, and flows again once the rule is deleted.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root
need_cmd "$IPT" iptables
need_bin udp_flow

netns_pair_up
ipt() { ip netns exec "$NS_B" "$IPT" "$@"; }

expect_flow 20 "flow before the rule"

ipt -A INPUT -p udp --dport 5000 -j DROP || fail "-A INPUT"
expect_flow 0 "flow with the DROP rule"
pkts=$(port5000_packets)
log "rule counter: $pkts packets"
[ "$pkts" = 20 ] || fail "DROP rule counted $pkts packets, expected 20"

ipt -D INPUT -p udp --dport 5000 -j DROP || fail "-D INPUT"
expect_flow 20 "flow after deleting the rule"
exit $KSFT_PASS
