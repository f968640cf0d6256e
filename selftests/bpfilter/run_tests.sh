#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs the bpfilter selftests in the booted guest and prints KTAP.
# Usage: run_tests.sh [TEST_NAME...]   (default: every test_* in this folder)
# Each test exits with a kselftest code: 0 pass, 1 fail, 4 skip. A test that
# outlives its timeout (settings: timeout=SECONDS) is killed and reported not ok.

dir=$(dirname "$(readlink -f "$0")")
timeout_s=$(sed -n 's/^timeout=//p' "$dir/settings" 2>/dev/null)
timeout_s=${timeout_s:-120}

if [ $# -gt 0 ]; then
	tests=""
	for t in "$@"; do
		t=${t%.sh}
		[ -x "$dir/$t.sh" ] || { echo "run_tests.sh: no such test: $t" >&2; exit 2; }
		tests="$tests $t.sh"
	done
else
	tests=$(cd "$dir" && ls test_*.sh)
fi

set -- $tests
echo "TAP version 13"
echo "1..$#"
n=0
fails=0
for t in "$@"; do
	n=$((n + 1))
	out=$(mktemp)
	echo "# selftests: bpfilter: $t"
	timeout -k 5 "$timeout_s" "$dir/$t" >"$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	case $rc in
	0) echo "ok $n selftests: bpfilter: $t" ;;
	4) reason=$(sed -n 's/^SKIP: //p' "$out" | tail -n 1)
	   echo "ok $n selftests: bpfilter: $t # SKIP ${reason:-no reason given}" ;;
	124|137) echo "not ok $n selftests: bpfilter: $t # TIMEOUT ${timeout_s} seconds"
	   fails=$((fails + 1)) ;;
	*) echo "not ok $n selftests: bpfilter: $t # exit=$rc"
	   fails=$((fails + 1)) ;;
	esac
	rm -f "$out"
done
[ $fails -eq 0 ] && exit 0
exit 1
