#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers that break the frame protocol are killed and the caller gets
# an errno: junk instead of a reply (EPROTO), and exiting in the middle of
# a request (EIO). Then the declining fake helper serves iptables again.
source "$(dirname "$0")/helper_lib.sh"

EIO=5
EPROTO=71

require_bpfilter
build_fake_helper

# fake mode | errno | dmesg line
cases=(
	"garbage|$EPROTO|has magic 0xabababab, not 0x42504649"
	"exit|$EIO|closed its pipe during seq"
)
for c in "${cases[@]}"; do
	IFS='|' read -r mode want line <<< "$c"
	set_helper "$(fake_helper "$mode")"
	mark_dmesg
	for op in get set; do
		got=$(timeout 60 bash -c "$(declare -f sockopt_errno); sockopt_errno $op")
		[ "$got" = "$want" ] || fail "$mode helper: $op got errno '$got', want $want"
		note "$mode helper: $op -> errno $got"
	done
	pid=$(last_helper_pid)
	dmesg_since_mark | grep -q -- "$line" || fail "$mode helper: no '$line' in dmesg"
	expect_exit "$pid" "$mode helper"
done

use_decline_helper
iptables-legacy -w -L -n > /dev/null || fail "iptables -L with the declining fake helper failed"
pass "broken helpers were killed with EPROTO/EIO; iptables works again"
