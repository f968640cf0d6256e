#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A helper that passes HELLO and then never answers (and leaves a child
# holding its pipes) must cost each caller at most bpfilter.timeout_ms:
# the caller gets ETIMEDOUT, concurrent callers are not wedged, and the
# next helper serves iptables again.
source "$(dirname "$0")/helper_lib.sh"

ETIMEDOUT=110
TIMEOUT_MS=1000
# generous: a TCG guest is slow, but a wedged caller never returns
SLACK_MS=15000
CALLERS=3

require_bpfilter
build_fake_helper
set_timeout_ms $TIMEOUT_MS
set_hello_timeout_ms $TIMEOUT_MS
set_helper "$(fake_helper hang)"
mark_dmesg

export -f sockopt_errno now_ms
start=$(now_ms)
for i in $(seq $CALLERS); do
	timeout 120 bash -c 'e=$(sockopt_errno get); echo "$e $(now_ms)"' \
		> "$WORK_DIR/caller.$i" &
done
wait
# a caller waits for those queued before it: each takes at most about
# two timeouts (one for the write, one for the reply) plus the restart
limit=$((CALLERS * 2 * TIMEOUT_MS + SLACK_MS))
for i in $(seq $CALLERS); do
	read -r err end < "$WORK_DIR/caller.$i" || fail "caller $i did not finish"
	took=$((end - start))
	note "caller $i: errno $err after $took ms"
	[ "$err" = $ETIMEDOUT ] || fail "caller $i got errno $err, want ETIMEDOUT ($ETIMEDOUT)"
	[ "$took" -le $limit ] || fail "caller $i took $took ms, limit $limit ms"
done
dmesg_since_mark | grep -q "did not answer seq [0-9]* within $TIMEOUT_MS ms" ||
	fail "no 'did not answer ... within $TIMEOUT_MS ms' line in dmesg"

# iptables itself fails with the errno, just as fast
start=$(now_ms)
timeout 120 iptables-legacy -w -L -n > /dev/null 2> "$WORK_DIR/iptables.err" &&
	fail "iptables -L succeeded through a helper that never answers"
took=$(($(now_ms) - start))
note "iptables -L: $(head -n 1 "$WORK_DIR/iptables.err") after $took ms"
grep -q "timed out" "$WORK_DIR/iptables.err" || fail "iptables -L did not report a timeout"
[ "$took" -le $((2 * TIMEOUT_MS + SLACK_MS)) ] ||
	fail "iptables -L took $took ms, limit $((2 * TIMEOUT_MS + SLACK_MS)) ms"

# the kernel stays responsive: the declining fake helper serves iptables at once
use_decline_helper
timeout 60 iptables-legacy -w -L -n > /dev/null ||
	fail "iptables -L with the declining fake helper failed after the hang"
pass "$CALLERS callers timed out with ETIMEDOUT, iptables works again"
