#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest booted the kernel under test, with the host root on 9p and tmpfs for writes.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root

release=$(uname -r)
case "$release" in
6.12.*) log "kernel $release" ;;
*) fail "expected a 6.12 kernel, running $release" ;;
esac
grep -q ' / 9p ' /proc/mounts || fail "root is not on 9p: $(grep ' / ' /proc/mounts)"
grep -q ' /tmp tmpfs ' /proc/mounts || fail "/tmp is not tmpfs"
echo probe >/tmp/probe && [ "$(cat /tmp/probe)" = probe ] || fail "cannot write /tmp"
[ -d /sys/fs/bpf ] || fail "no /sys/fs/bpf"
log "root on 9p, /tmp writable"
exit $KSFT_PASS
