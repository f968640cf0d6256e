# SPDX-License-Identifier: GPL-2.0
# Shared by the test_bpf_*.sh selftests (sourced after lib.sh): point the
# kernel at the real helper (build/helper/bpfilter-helper, built by
# `make helper`) and put the module parameters back at exit.

BPFILTER_PARAMS=/sys/module/bpfilter/parameters
# The helper to test: the repository's build, or $BPFILTER_HELPER (e.g. from a kernel tree).
BPF_HELPER=${BPFILTER_HELPER:-$REPO_DIR/build/helper/bpfilter-helper}
ORIG_HELPER=
ORIG_TIMEOUT=
ORIG_HELLO_TIMEOUT=

# Skip on a kernel without the series; fail when the helper is not built.
require_bpf_helper() {
	need_root
	[ -e "$BPFILTER_PARAMS/helper" ] ||
		skip "no $BPFILTER_PARAMS/helper: this kernel lacks the bpfilter helper series"
	[ -x "$BPF_HELPER" ] || fail "$BPF_HELPER missing: run make helper"
	need_cmd "$IPT" iptables
	need_bin udp_flow
}

# Use the real helper; Node's cold start under an emulated CPU takes seconds.
use_bpf_helper() {
	ORIG_HELPER=$(cat "$BPFILTER_PARAMS/helper")
	ORIG_TIMEOUT=$(cat "$BPFILTER_PARAMS/timeout_ms" 2>/dev/null)
	ORIG_HELLO_TIMEOUT=$(cat "$BPFILTER_PARAMS/hello_timeout_ms" 2>/dev/null)
	echo "$BPF_HELPER" > "$BPFILTER_PARAMS/helper" || fail "cannot set $BPFILTER_PARAMS/helper"
	[ -n "$ORIG_TIMEOUT" ] && echo 60000 > "$BPFILTER_PARAMS/timeout_ms"
	[ -n "$ORIG_HELLO_TIMEOUT" ] && echo 60000 > "$BPFILTER_PARAMS/hello_timeout_ms"
	trap bpf_cleanup EXIT
}

bpf_cleanup() {
	netns_pair_down
	echo "$ORIG_HELPER" > "$BPFILTER_PARAMS/helper"
	[ -n "$ORIG_TIMEOUT" ] && echo "$ORIG_TIMEOUT" > "$BPFILTER_PARAMS/timeout_ms"
	[ -n "$ORIG_HELLO_TIMEOUT" ] &&
		echo "$ORIG_HELLO_TIMEOUT" > "$BPFILTER_PARAMS/hello_timeout_ms"
}

# The pid of the running helper, 0 if none.
bpf_helper_pid() {
	cat "$BPFILTER_PARAMS/helper_pid"
}

# The common start of a test_bpf_*.sh: checks, the real helper, the netns
# pair, and the cleanup at exit.
bpf_test_setup() {
	require_bpf_helper
	use_bpf_helper
	netns_pair_up
	trap bpf_cleanup EXIT
}

# iptables in the receiving netns $NS_B.
ipt() { ip netns exec "$NS_B" "$IPT" -w "$@"; }

# netfilter's own view of netns $NS_B's chain $1: with no helper configured,
# requests go to netfilter. The helper is started again afterwards, and
# takes over what it enforced from its pins.
netfilter_rules() {
	local helper
	helper=$(cat "$BPFILTER_PARAMS/helper")
	echo "" > "$BPFILTER_PARAMS/helper"
	ipt -S "$1"
	echo "$helper" > "$BPFILTER_PARAMS/helper"
}

# compare_with_netfilter FN: runs "FN netfilter" with no helper configured
# (netfilter enforces what FN restores into $NS_B), flushes INPUT, then
# "FN bpfilter" with the helper; fails unless netfilter's own INPUT is empty
# then (the helper's programs enforced it) and both printed the same. What
# the helper's run printed is left in $got.
compare_with_netfilter() {
	local want own

	echo "" > "$BPFILTER_PARAMS/helper"
	want=$("$1" netfilter)
	ipt -F INPUT && ipt -Z INPUT || fail "netfilter: flush INPUT"
	echo "$BPF_HELPER" > "$BPFILTER_PARAMS/helper"
	got=$("$1" bpfilter)
	own=$(netfilter_rules INPUT)
	[ "$own" = "-P INPUT ACCEPT" ] ||
		fail "netfilter's own INPUT holds rules (the table was not compiled): $own"
	log "$got"
	[ "$got" = "$want" ] || fail "differs from netfilter:
netfilter:
$want"
}
