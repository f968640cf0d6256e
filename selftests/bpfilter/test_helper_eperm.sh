#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Only a caller with CAP_NET_ADMIN over its socket's network namespace
# reaches the bpfilter helper; the others get EPERM, as from netfilter.
source "$(dirname "$0")/helper_lib.sh"

EPERM=1

require_bpfilter
command -v setpriv > /dev/null || skip "setpriv (util-linux) is not installed"
command -v unshare > /dev/null || skip "unshare (util-linux) is not installed"
unshare -U true 2> /dev/null || skip "user namespaces are not available"
build_fake_helper
set_helper "$(fake_helper decline)"

export -f sockopt_errno
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)

# caller | run as | expect EPERM?
cases=(
	"root|env|no"
	"nobody|${nobody[*]}|yes"
	"root of a new user ns, host netns|unshare -U --map-root-user|yes"
	"root of a new user ns and netns|unshare -U --map-root-user --net|no"
)

for c in "${cases[@]}"; do
	IFS='|' read -r who runner want <<< "$c"
	for op in get set; do
		# shellcheck disable=SC2086 # runner is a command line
		got=$($runner bash -c "sockopt_errno $op") ||
			fail "$who: cannot run the $op probe"
		if [ "$want" = yes ] && [ "$got" != $EPERM ]; then
			fail "$who: $op got errno $got, want EPERM"
		fi
		if [ "$want" = no ] && [ "$got" = $EPERM ]; then
			fail "$who: $op got EPERM, want to reach the helper or netfilter"
		fi
		note "$who: $op -> errno $got"
	done
done
pass "EPERM exactly for callers without CAP_NET_ADMIN over the netns"
