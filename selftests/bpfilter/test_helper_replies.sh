#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What the kernel does with each kind of helper reply, through real
# getsockopt()/setsockopt() calls (sockopt_probe.c) answered by the fake
# helper's "reply" mode: output bytes and optlen of a get, counters of a
# replace, EPROTO for replies that break the protocol, and the pid and
# netns cookie the helper is told.
source "$(dirname "$0")/helper_lib.sh"

require_bpfilter
build_fake_helper
build_prog PROBE_BIN sockopt_probe.c
set_helper "$(fake_helper reply)"

out=$("$PROBE_BIN")
rc=$?
echo "$out" | sed 's/^/# /'
[ $rc = 0 ] || fail "$(echo "$out" | grep -c '^not ok') of $(echo "$out" | wc -l) cases failed"
pass "$(echo "$out" | wc -l) reply cases"
