#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kill the bpfilter helper between two iptables calls: the next call must
# start a new helper (a new pid) and work, and later calls must reuse it.
source "$(dirname "$0")/helper_lib.sh"

require_bpfilter
build_fake_helper
use_real_helper

rule=(INPUT -s 192.0.2.77/32 -p udp --dport 7777 -j DROP)

iptables-legacy -w -L -n > /dev/null || fail "iptables -L with a fresh helper failed"
pid1=$(last_helper_pid)
[ -n "$pid1" ] || fail "no 'started helper' line in dmesg"
kill -0 "$pid1" 2> /dev/null || fail "helper pid $pid1 is not running after iptables -L"
note "first helper: pid $pid1"

kill -9 "$pid1"
expect_exit "$pid1" "SIGKILLed helper"

iptables-legacy -w -L -n > /dev/null || fail "iptables -L after the helper died failed"
pid2=$(last_helper_pid)
[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] ||
	fail "no new helper after the first died (last pid ${pid2:-none})"
kill -0 "$pid2" 2> /dev/null || fail "restarted helper pid $pid2 is not running"
note "restarted helper: pid $pid2"

iptables-legacy -w -A "${rule[@]}" || fail "iptables -A through the restarted helper failed"
iptables-legacy -w -C "${rule[@]}" || fail "iptables -C: the rule just added is missing"
iptables-legacy -w -D "${rule[@]}" || fail "iptables -D through the restarted helper failed"
iptables-legacy -w -C "${rule[@]}" 2> /dev/null && fail "rule still present after iptables -D"
[ "$(last_helper_pid)" = "$pid2" ] || fail "helper restarted again without dying"

pass "helper pid $pid1 killed; pid $pid2 took over"
