#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Without a helper to run, netfilter serves iptables: an empty helper path
# starts nothing, a missing file is logged once (not on every call); a
# relative path is refused when written.
source "$(dirname "$0")/helper_lib.sh"

require_bpfilter
rule=(INPUT -s 192.0.2.99/32 -j DROP)
missing=$WORK_DIR/no-such-helper

# helper path | dmesg line it must produce ("" for none)
cases=(
	"|"
	"$missing|helper $missing does not exist: netfilter serves iptables"
)
for c in "${cases[@]}"; do
	IFS='|' read -r path line <<< "$c"
	set_helper "$path"
	mark_dmesg
	iptables-legacy -w -A "${rule[@]}" || fail "helper '$path': iptables -A failed"
	iptables-legacy -w -C "${rule[@]}" || fail "helper '$path': rule missing after -A"
	iptables-legacy -w -D "${rule[@]}" || fail "helper '$path': iptables -D failed"
	dmesg_since_mark | grep -q "started helper" && fail "helper '$path': a helper was started"
	if [ -n "$line" ]; then
		n=$(dmesg_since_mark | grep -cF -- "$line")
		[ "$n" = 1 ] || fail "helper '$path': '$line' logged $n times, want once"
	fi
	note "helper '$path': netfilter served iptables"
done

echo relative/helper > "$BPFILTER_PARAMS/helper" 2> /dev/null &&
	fail "the kernel took a relative helper path"
note "relative path refused"
pass "netfilter serves iptables when there is no helper to run"
