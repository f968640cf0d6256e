#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A helper that answers HELLO with another protocol version is refused:
# the caller gets EPROTO, dmesg names both versions, and the helper dies.
source "$(dirname "$0")/helper_lib.sh"

EPROTO=71

require_bpfilter
build_fake_helper
set_helper "$(fake_helper badversion)"
mark_dmesg

got=$(timeout 60 bash -c "$(declare -f sockopt_errno); sockopt_errno get")
[ "$got" = $EPROTO ] || fail "get through a version 99 helper: errno '$got', want EPROTO"
timeout 60 iptables-legacy -w -L -n > /dev/null 2>&1 &&
	fail "iptables -L succeeded through a version 99 helper"

line=$(dmesg_since_mark | grep -m1 "speaks protocol version 99, kernel speaks version 1") ||
	fail "no 'speaks protocol version 99, kernel speaks version 1' line in dmesg"
note "dmesg: $line"
pid=$(last_helper_pid)
expect_exit "$pid" "refused helper"

use_decline_helper
iptables-legacy -w -L -n > /dev/null || fail "iptables -L with the declining fake helper failed"
pass "version 99 helper refused with EPROTO"
