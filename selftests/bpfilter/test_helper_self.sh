#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The helper's own iptables calls go to netfilter: while it serves a
# request, a call of its own must neither come back to it nor wait for
# the lock the request holds (which would cost the request a timeout).
source "$(dirname "$0")/helper_lib.sh"

ETIMEDOUT=110
EDEADLK=35

require_bpfilter
build_fake_helper
set_timeout_ms 3000
probe="$(declare -f sockopt_errno); sockopt_errno get"

# what netfilter alone answers, through a helper that declines at once
set_helper "$(fake_helper decline)"
want=$(timeout 60 bash -c "$probe")

set_helper "$(fake_helper self)"
start=$(now_ms)
got=$(timeout 60 bash -c "$probe")
took=$(($(now_ms) - start))
note "get through a helper that calls netfilter itself: errno $got after $took ms"
[ "$got" != $ETIMEDOUT ] || fail "the helper's own call came back to it: the request timed out"
[ "$got" != $EDEADLK ] || fail "the helper's own IPT_SO_GET_INFO failed (it replied -EDEADLK)"
[ "$got" = "$want" ] || fail "errno $got, but netfilter alone answers $want"
timeout 60 iptables-legacy -w -L -n > /dev/null ||
	fail "iptables -L through a helper that calls netfilter itself failed"
pass "the helper's own call was served by netfilter"
