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

got=$(udp_flow 20) || fail "udp_flow"
log "no rule: $got"
[ "$got" = "sent 20 received 20" ] || fail "flow before the rule: $got"

ipt -A INPUT -p udp --dport 5000 -j DROP || fail "-A INPUT"
got=$(udp_flow 20) || fail "udp_flow"
log "DROP rule: $got"
[ "$got" = "sent 20 received 0" ] || fail "flow with the DROP rule: $got"
pkts=$(ipt -L INPUT -v -x -n | awk '/udp dpt:5000/ { print $1 }')
log "rule counter: $pkts packets"
[ "$pkts" = 20 ] || fail "DROP rule counted $pkts packets, expected 20"

ipt -D INPUT -p udp --dport 5000 -j DROP || fail "-D INPUT"
got=$(udp_flow 20) || fail "udp_flow"
log "rule deleted: $got"
[ "$got" = "sent 20 received 20" ] || fail "flow after deleting the rule: $got"
exit $KSFT_PASS
