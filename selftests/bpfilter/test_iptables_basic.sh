#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# iptables-legacy -A, -L, -S and -D work in a fresh network namespace.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root
need_cmd "$IPT" iptables

ns=bpft-ipt-$$
ip netns add "$ns" || fail "ip netns add"
trap 'ip netns del $ns' EXIT
ipt() { ip netns exec "$ns" "$IPT" "$@"; }

ipt -A INPUT -p udp --dport 5000 -j DROP || fail "-A INPUT"
ipt -A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT || fail "-A INPUT (tcp)"
rules=$(ipt -S INPUT)
log "$rules"
udp_rule='-A INPUT -p udp -m udp --dport 5000 -j DROP'
tcp_rule='-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT'
echo "$rules" | grep -qx -- "$udp_rule" || fail "-S lacks the udp rule"
echo "$rules" | grep -qx -- "$tcp_rule" || fail "-S lacks the tcp rule"
ipt -L INPUT -n | grep -q 'udp dpt:5000' || fail "-L lacks the udp rule"
# iptables-save without -t saves the tables netfilter lists in this netns.
saved=$(ip netns exec "$ns" iptables-legacy-save)
echo "$saved" | grep -qx -- "$udp_rule" ||
	fail "iptables-legacy-save (no -t) lacks the rule: $saved"
ipt -D INPUT -p udp --dport 5000 -j DROP || fail "-D by spec"
ipt -D INPUT 1 || fail "-D by number"
[ "$(ipt -S INPUT)" = "-P INPUT ACCEPT" ] || fail "INPUT not empty after -D: $(ipt -S INPUT)"
ipt -D INPUT -p udp --dport 5000 -j DROP 2>/dev/null && fail "-D of a missing rule succeeded"
log "append, list, delete: ok"
exit $KSFT_PASS
