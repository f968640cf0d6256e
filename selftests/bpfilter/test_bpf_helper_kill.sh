#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: SIGKILL the helper while it enforces a DROP rule.
# The pinned programs keep dropping and counting; the helper the kernel
# starts next takes the table over and lists the rule with every drop counted.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
rule="INPUT -p udp --dport 5000 -j DROP"

ipt -A $rule || fail "iptables -A $rule"
expect_flow 0 "flow with the DROP rule"

pid=$(bpf_helper_pid)
[ "$pid" -gt 0 ] || fail "no helper runs after iptables -A ($BPFILTER_PARAMS/helper_pid is $pid)"
kill -9 "$pid" || fail "cannot kill helper pid $pid"
for _ in $(seq 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "helper pid $pid still runs 5 s after SIGKILL"
log "helper pid $pid killed"

expect_flow 0 "flow without a helper"

pkts=$(port5000_packets)
log "rule counter from the restarted helper (pid $(bpf_helper_pid)): $pkts packets"
[ "$(bpf_helper_pid)" != "$pid" ] || fail "the kernel started no new helper"
[ "$pkts" = 40 ] || fail "DROP rule counted $pkts packets, expected 40"

ipt -D $rule || fail "iptables -D $rule"
expect_flow 20 "flow after deleting the rule"
echo "PASS: the rule outlived the helper and the next helper counted it"
exit $KSFT_PASS
