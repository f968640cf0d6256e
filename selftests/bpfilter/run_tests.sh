#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs the bpfilter selftests and prints KTAP, as kselftest's runner does,
# for a checkout of the bpfilter repository (the programs are in
# $BPFILTER_SELFTEST_BIN, default ../../build/selftests; in a kernel tree,
# use make -C tools/testing/selftests TARGETS=bpfilter run_tests).
# Usage: run_tests.sh [TEST_NAME...]   (default: every test_*.sh here and
# every test_*.c program). Each test exits with a kselftest code: 0 pass,
# 1 fail, 4 skip. A test that outlives its timeout (settings:
# timeout=SECONDS) is killed and reported not ok.

dir=$(dirname "$(readlink -f "$0")")
bin=${BPFILTER_SELFTEST_BIN:-$dir/../../build/selftests}
timeout_s=$(sed -n 's/^timeout=//p' "$dir/settings" 2>/dev/null)
timeout_s=${timeout_s:-120}

# The command that runs test $1 (a script here, or a program in $bin).
test_command() {
	if [ -f "$dir/$1.sh" ]; then
		echo "$dir/$1.sh"
	elif [ -f "$dir/$1.c" ]; then
		echo "$bin/$1"
	fi
}

if [ $# -gt 0 ]; then
	tests=""
	for t in "$@"; do
		t=${t%.sh}
		if [ -z "$(test_command "$t")" ]; then
			echo "run_tests.sh: no such test: $t" >&2
			exit 2
		fi
		tests="$tests $t"
	done
else
	tests=$(cd "$dir" && ls test_*.sh test_*.c | sed 's/\.sh$//; s/\.c$//')
fi

set -- $tests
echo "TAP version 13"
echo "1..$#"
n=0
fails=0
for t in "$@"; do
	n=$((n + 1))
	out=$(mktemp)
	cmd=$(test_command "$t")
	echo "# selftests: bpfilter: $t"
	if [ -x "$cmd" ]; then
		timeout -k 5 "$timeout_s" "$cmd" >"$out" 2>&1
		rc=$?
	else
		echo "FAIL: $cmd is not built (run make selftests-build)" >"$out"
		rc=1
	fi
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
