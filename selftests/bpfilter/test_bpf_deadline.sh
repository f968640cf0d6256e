#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# With the real helper and the default bpfilter.timeout_ms: a 10000-rule
# iptables-restore, and a rule deleted from that table, succeed whether or
# not the helper compiles the table within the kernel's wait. A compile that
# would outlast it is declined in time and netfilter enforces the table.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
. "$SELFTEST_DIR/bpf_helper_lib.sh"

RULES=10000
# The module's default bpfilter.timeout_ms (the boot line may have raised it).
DEFAULT_TIMEOUT_MS=5000
bpf_test_setup
# The helper starts with the raised waits of use_bpf_helper; the requests
# below get the default one.
expect_flow 20 "flow before the table"
[ -n "$ORIG_TIMEOUT" ] || fail "no $BPFILTER_PARAMS/timeout_ms"
echo "$DEFAULT_TIMEOUT_MS" > "$BPFILTER_PARAMS/timeout_ms"
log "timeout_ms: $(cat "$BPFILTER_PARAMS/timeout_ms")"

table=$(mktemp)
{
	echo "*filter"
	i=0
	while [ $i -lt $RULES ]; do
		echo "-A INPUT -s 10.200.$((i / 250)).$((i % 250 + 1))/32 -j DROP"
		i=$((i + 1))
	done
	echo "-A INPUT -p udp --dport 5000 -j DROP"
	echo "COMMIT"
} > "$table"
dmesg -C
ip netns exec "$NS_B" "$IPT-restore" -w < "$table" ||
	fail "iptables-restore of $RULES rules failed: $(dmesg | grep bpfilter | tail -3)"
rm -f "$table"
log "restore: $(dmesg | grep -o 'table filter: .*' | tail -1)"
dmesg | grep -q "did not answer" && fail "the kernel timed the helper out: $(dmesg | grep bpfilter)"
n=$(ipt -S INPUT | grep -c -- "-j DROP")
[ "$n" = $((RULES + 1)) ] || fail "iptables -S lists $n DROP rules, expected $((RULES + 1))"
expect_flow 0 "flow with the $((RULES + 1))-rule table"
pkts=$(port5000_packets)
[ "$pkts" = 20 ] || fail "the dport 5000 rule counted $pkts packets, expected 20"

dmesg -C
ipt -D INPUT -p udp --dport 5000 -j DROP ||
	fail "iptables -D on the big table failed: $(dmesg | grep bpfilter | tail -3)"
dmesg | grep -q "did not answer" && fail "the kernel timed the helper out: $(dmesg | grep bpfilter)"
expect_flow 20 "flow after deleting the rule"
echo "PASS: a $RULES-rule restore and a -D succeed within the default timeout_ms"
exit $KSFT_PASS
