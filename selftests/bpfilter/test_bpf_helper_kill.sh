#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper: SIGKILL the helper while it enforces a DROP rule.
# The pinned XDP program keeps dropping and counting; the helper the kernel
# starts next takes the table over and lists the rule with every drop counted.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

bpf_test_setup
rule="INPUT -p udp --dport 5000 -j DROP"

ipt -A $rule || fail "iptables -A $rule"
expect_attached "$NS_B" veth0
got=$(udp_flow 20) || fail "udp_flow"
[ "$got" = "sent 20 received 0" ] || fail "flow with the DROP rule: $got"

pid=$(bpf_helper_pid)
[ -n "$pid" ] || fail "no 'started helper ... as pid' line in dmesg"
kill -9 "$pid" || fail "cannot kill helper pid $pid"
for _ in $(seq 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "helper pid $pid still runs 5 s after SIGKILL"
log "helper pid $pid killed"

got=$(udp_flow 20) || fail "udp_flow"
log "no helper: $got"
[ "$got" = "sent 20 received 0" ] || fail "flow without a helper: $got"
expect_attached "$NS_B" veth0

pkts=$(ipt -L INPUT -v -x -n | awk '/udp dpt:5000/ { print $1 }')
log "rule counter from the restarted helper (pid $(bpf_helper_pid)): $pkts packets"
[ "$(bpf_helper_pid)" != "$pid" ] || fail "the kernel started no new helper"
[ "$pkts" = 40 ] || fail "DROP rule counted $pkts packets, expected 40"

ipt -D $rule || fail "iptables -D $rule"
got=$(udp_flow 20) || fail "udp_flow"
[ "$got" = "sent 20 received 20" ] || fail "flow after deleting the rule: $got"
echo "PASS: the rule outlived the helper and the next helper counted it"
exit $KSFT_PASS
