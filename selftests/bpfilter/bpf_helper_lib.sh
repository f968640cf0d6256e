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
	need_cmd bpftool "bpftool"
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

# Fail unless netns $1's device $2 runs the helper's XDP program and TC
# egress filter (bpftool prog show names them bpfilter_in, bpfilter_out).
expect_attached() {
	xdp_id=$(ip -n "$1" -d link show dev "$2" |
		sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p' | head -n 1)
	if [ -z "$xdp_id" ]; then
		dmesg | grep -i bpfilter | tail -n 20 | sed 's/^/dmesg: /'
		fail "no XDP program on $2 in $1"
	fi
	prog=$(bpftool prog show id "$xdp_id" | head -n 1)
	echo "$prog" | grep -q "xdp  *name bpfilter_in " ||
		fail "XDP program $xdp_id on $2 in $1 is not bpfilter_in: $prog"
	ip netns exec "$1" tc filter show dev "$2" egress | grep -q "bpfilter_out" ||
		fail "no bpfilter_out TC egress filter on $2 in $1"
}

# Fail if netns $1's device $2 runs an XDP program.
expect_no_xdp() {
	if ip -n "$1" -d link show dev "$2" | grep -q "prog/xdp"; then
		fail "an XDP program is attached to $2 in $1:" \
			"$(ip -n "$1" -d link show dev "$2" | grep prog/xdp)"
	fi
}

# The pid of the helper the kernel started last, from its log line.
bpf_helper_pid() {
	dmesg | sed -n 's/.*bpfilter: started helper .* as pid \([0-9][0-9]*\)$/\1/p' | tail -n 1
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
