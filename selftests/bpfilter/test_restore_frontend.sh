#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# iptables-legacy-restore of the filter table that a firewall front end (ufw)
# generates works and reads back unchanged. Its conntrack, LOG and REJECT
# rules are not compiled, so bpfilter declines the table and netfilter
# enforces it: ufw's default deny drops a UDP flow it does not allow.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root
need_cmd iptables-legacy-restore iptables
need_bin udp_flow

netns_pair_up
rules=$SELFTEST_DIR/rulesets/ufw.rules
ip netns exec "$NS_B" iptables-legacy-restore <"$rules" ||
	fail "iptables-legacy-restore of $rules"
saved=$(ip netns exec "$NS_B" iptables-legacy-save | grep -v '^#')
if [ "$saved" != "$(grep -v '^#' "$rules")" ]; then
	echo "$saved"
	fail "iptables-legacy-save does not read back what was restored"
fi
log "restored and read back: $(echo "$saved" | grep -c '^-A') rules"

expect_flow 0 "UDP to port 5000 under ufw's default deny"

helper=/sys/module/bpfilter/parameters/helper
if [ -r "$helper" ] && [ -n "$(cat "$helper")" ]; then
	line=$(dmesg | grep -E "table filter: (stays with netfilter|netfilter enforces it)" |
		tail -n 1)
	[ -n "$line" ] || fail "bpfilter did not log handing the table to netfilter"
	log "${line#*] }"
fi
exit $KSFT_PASS
