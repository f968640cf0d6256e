#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Plain netfilter (no helper configured) takes one rule for each extension
# that the real tools' rulesets use (rulesets/extensions.rules), in the filter,
# nat, mangle and raw tables, and reads every one of them back: whatever
# bpfilter hands to netfilter is then really enforced.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root
need_cmd iptables-legacy-restore iptables

params=/sys/module/bpfilter/parameters
if [ -w "$params/helper" ]; then
	helper=$(cat "$params/helper")
	trap 'echo "$helper" > "$params/helper"; ip netns del "$ns" 2>/dev/null' EXIT
	echo "" > "$params/helper"
fi
ns=bpft-ext-$$
ip netns add "$ns" || fail "ip netns add $ns"
[ -w "$params/helper" ] || trap 'ip netns del "$ns"' EXIT

rules=$SELFTEST_DIR/rulesets/extensions.rules
out=$(ip netns exec "$ns" iptables-legacy-restore <"$rules" 2>&1) ||
	fail "netfilter refused the ruleset: $out"
saved=$(ip netns exec "$ns" iptables-legacy-save)
for table in raw mangle nat filter; do
	want=$(sed -n "/^\*$table\$/,/^COMMIT/p" "$rules" | grep '^-A')
	got=$(echo "$saved" | sed -n "/^\*$table\$/,/^COMMIT/p" | grep '^-A')
	if [ "$got" != "$want" ]; then
		echo "restored:"; echo "$want"; echo "read back:"; echo "$got"
		fail "table $table does not read back as restored"
	fi
	log "table $table: $(echo "$got" | wc -l) rules read back as restored"
done
echo "$saved" | ip netns exec "$ns" iptables-legacy-restore ||
	fail "netfilter refused its own iptables-save output"
exit $KSFT_PASS
