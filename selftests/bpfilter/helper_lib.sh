# SPDX-License-Identifier: GPL-2.0
# Shared by the test_helper_*.sh selftests: kselftest exit codes, the
# bpfilter module parameters, the fake helpers and errno probes.
# Sourced, not run.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

BPFILTER_PARAMS=/sys/module/bpfilter/parameters
SELFTEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK_DIR=$(mktemp -d /tmp/bpfilter-selftest.XXXXXX)
ORIG_SAVED=
ORIG_HELPER=
ORIG_TIMEOUT=
ORIG_HELLO_TIMEOUT=
FAKE_BIN=

skip() { echo "SKIP: $*"; exit $KSFT_SKIP; }
fail() { echo "FAIL: $*"; exit $KSFT_FAIL; }
pass() { echo "PASS: $*"; exit $KSFT_PASS; }
note() { echo "# $*"; }

# Put the parameters back and remove the scratch files, whatever happened.
restore_params() {
	if [ -n "$ORIG_SAVED" ]; then
		echo "$ORIG_TIMEOUT" > "$BPFILTER_PARAMS/timeout_ms"
		echo "$ORIG_HELLO_TIMEOUT" > "$BPFILTER_PARAMS/hello_timeout_ms"
		echo "$ORIG_HELPER" > "$BPFILTER_PARAMS/helper"
	fi
	rm -rf "$WORK_DIR"
}
trap restore_params EXIT

require_bpfilter() {
	[ "$(id -u)" = 0 ] || skip "must run as root"
	[ -w "$BPFILTER_PARAMS/helper" ] ||
		skip "no $BPFILTER_PARAMS/helper: this kernel lacks the bpfilter helper series"
	command -v iptables-legacy > /dev/null || skip "iptables-legacy is not installed"
	command -v perl > /dev/null || skip "perl is not installed (used to probe errno)"
	ORIG_HELPER=$(cat "$BPFILTER_PARAMS/helper")
	ORIG_TIMEOUT=$(cat "$BPFILTER_PARAMS/timeout_ms")
	ORIG_HELLO_TIMEOUT=$(cat "$BPFILTER_PARAMS/hello_timeout_ms")
	ORIG_SAVED=1
}

# The uapi directory holding linux/bpfilter_ipc.h: the repository's, the
# kernel tree's when run from tools/testing/selftests/bpfilter, or the
# system's once the kernel headers are installed.
uapi_dir() {
	local d repo_uapi tree_uapi

	repo_uapi=$SELFTEST_DIR/../../uapi
	tree_uapi=$SELFTEST_DIR/../../../../include/uapi
	for d in "$repo_uapi" "$tree_uapi" /usr/include; do
		[ -f "$d/linux/bpfilter_ipc.h" ] && { echo "$d"; return 0; }
	done
	return 1
}

# Build C program $2 (a path under this folder) unless the Makefile did,
# and store its path in the variable named $1.
build_prog() {
	local name prebuilt uapi src="$SELFTEST_DIR/$2"

	# kselftest's install flattens the fake/ folder
	[ -f "$src" ] || src="$SELFTEST_DIR/$(basename "$2")"
	name=$(basename "$2" .c)
	prebuilt="${BPFILTER_SELFTEST_BIN:-$SELFTEST_DIR/../../build/selftests}/$name"
	if [ -x "$prebuilt" ]; then
		printf -v "$1" '%s' "$prebuilt"
		return 0
	fi
	command -v gcc > /dev/null || skip "no gcc to build $2 and no $prebuilt"
	uapi=$(uapi_dir) || skip "linux/bpfilter_ipc.h not found next to the selftests"
	gcc -O2 -Wall -I "$uapi" -o "$WORK_DIR/$name" "$src" || fail "cannot build $src"
	printf -v "$1" '%s' "$WORK_DIR/$name"
}

# Set FAKE_BIN to the fake helper binary.
build_fake_helper() { build_prog FAKE_BIN fake/fake_helper.c; }

# Print the path of an executable that runs the fake helper in mode $1
# (the helper parameter names an executable, without arguments).
# Call build_fake_helper first.
fake_helper() {
	local wrapper="$WORK_DIR/fake-$1"

	printf '#!/bin/sh\nexec %s %s\n' "$FAKE_BIN" "$1" > "$wrapper"
	chmod 755 "$wrapper"
	echo "$wrapper"
}

# Point the kernel at the fake helper that declines everything, so that
# netfilter serves iptables, with the default timeouts: for checks that the
# kernel recovered, which must not depend on the real helper.
use_decline_helper() {
	set_timeout_ms "$ORIG_TIMEOUT"
	set_hello_timeout_ms "$ORIG_HELLO_TIMEOUT"
	set_helper "$(fake_helper decline)"
}

# Point the kernel at the real helper if it is built (for an end-to-end
# happy path), else at the declining fake; $BPFILTER_HELPER overrides
# where the real one is. It runs Node, whose cold start under an emulated
# CPU takes seconds: give it the time.
use_real_helper() {
	local real="${BPFILTER_HELPER:-$SELFTEST_DIR/../../build/helper/bpfilter-helper}"

	if [ -x "$real" ]; then
		set_timeout_ms 60000
		set_hello_timeout_ms 60000
		set_helper "$real"
	else
		use_decline_helper
	fi
	note "helper: $(cat "$BPFILTER_PARAMS/helper")"
}

set_helper() { echo "$1" > "$BPFILTER_PARAMS/helper" || fail "cannot set helper to $1"; }
set_timeout_ms() {
	echo "$1" > "$BPFILTER_PARAMS/timeout_ms" || fail "cannot set timeout_ms to $1"
}
set_hello_timeout_ms() {
	echo "$1" > "$BPFILTER_PARAMS/hello_timeout_ms" || fail "cannot set hello_timeout_ms to $1"
}

# The pid of the helper the kernel started last, from its log line.
last_helper_pid() {
	dmesg | sed -n 's/.*bpfilter: started helper .* as pid \([0-9][0-9]*\)$/\1/p' | tail -n 1
}

# Fail unless process $1 (described by $2) is gone within 5 s.
expect_exit() {
	for _ in $(seq 50); do
		kill -0 "$1" 2> /dev/null || return 0
		sleep 0.1
	done
	fail "$2 pid $1 still runs 5 s later"
}

# Lines the kernel logged since mark_dmesg.
mark_dmesg() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_since_mark() { dmesg | tail -n "+$((DMESG_MARK + 1))"; }

# Print the errno of one IPT_SO_GET_INFO ("get") or IPT_SO_SET_REPLACE
# ("set") on a UDP socket, 0 on success; the bytes are zeros, so only the
# path to the helper matters, not what the request says.
sockopt_errno() {
	perl -MSocket -e '
		socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
		my $ok = $ARGV[0] eq "set"
			? setsockopt($s, 0, 64, "\0" x 128)
			: getsockopt($s, 0, 64);
		print $ok ? 0 : $! + 0, "\n";
	' "$1"
}

# Milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
