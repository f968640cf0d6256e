# bpfilter: the two commands are `make run` (see it work) and `make test` (everything).
# Every target that needs tools depends on setup, which is idempotent and quick when done.
# Under make, a test that skips for a step make should have done (not built, not installed) fails
# the run (tools/src/skips.ts); only causes outside the project (no root, no /dev/kvm) may skip.

SHELL := /bin/bash
BIN := node_modules/.bin
TSX := $(BIN)/tsx
CC ?= cc
export BPFILTER_SKIPS := strict
# A patched guest starts this checkout's helper; TCG needs longer timeouts than the defaults.
GUEST_HELPER := bpfilter.helper=$(CURDIR)/build/helper/bpfilter-helper bpfilter.hello_timeout_ms=60000 bpfilter.timeout_ms=30000

.PHONY: all setup run test typecheck unit kernel helper shim selftests-build vm-launcher-test vm-test vm-replays rehearse bench bench-report fuzz clean help

all: help

help:
	@echo "make run      setup, build the kernel, boot it, and show the firewall working"
	@echo "make test     setup, typecheck, unit tests, kernel build, VM selftests"
	@echo "make setup    install Debian packages, npm dependencies and the pinned helper runtime"
	@echo "make kernel   build build/kernel/bzImage (base + kernel/patches/series), cached"
	@echo "make helper   bundle the helper: build/helper/bpfilter-helper (pinned node + esbuild bundle)"
	@echo "make vm-test  run the selftests in the VM (T=name[,name] for some of them)"
	@echo "make vm-replays  replay the real tools' iptables commands in the VM, bpfilter vs netfilter (R=tool,...)"
	@echo "make rehearse make run + make test in a clean Debian 12 root, as a new machine would (slow)"
	@echo "make bench    bpfilter vs iptables-legacy and nftables, side by side (BENCH=quick: a few minutes)"
	@echo "make fuzz     the sockopt interface against native netfilter (FUZZ_SECONDS=120, FUZZ_SEED=n)"
	@echo "make clean    remove build/ (the kernel tree, images, runtime)"
	@echo ""
	@echo "the kernel developer's workflow (README: Working on the series):"
	@echo "make kernel-edit      a git tree of base + series in build/kernel-edit, to edit with git"
	@echo "make kernel-export    write its commits back to kernel/patches/ and series"
	@echo "make series V=N       format vN with a cover letter into build/series/vN/"
	@echo "make checkpatch [V=N] checkpatch.pl --strict, one row per patch"
	@echo "make series-check     build after every patch (W=1 on touched files), selftests on the last"
	@echo "make send [V=N]       git send-email --dry-run to bpf@ (SEND=1 CONFIRM=yes sends)"
	@echo "make fastloop         time one-line edit -> export -> kernel -> one selftest"
	@echo "make selftests-sync   fold selftests/bpfilter/ into the series' selftests patch"

setup:
	@tools/setup-npm
	@$(TSX) tools/src/setup.ts

typecheck: setup
	@echo "typecheck: tsc --noEmit"
	@$(BIN)/tsc -p tsconfig.json --noEmit

# The checkpatch and send tests run the kernel's own scripts from build/linux: kernel first.
unit: setup kernel
	@$(BIN)/vitest run

kernel: setup
	@mkdir -p build
	@flock build/.kernel.lock $(TSX) tools/src/kernel/build.ts

helper: setup
	@$(TSX) tools/src/helper-build.ts

shim: build/shim/libbpfilter-preload.so

build/shim/libbpfilter-preload.so: usermode/shim/bpfilter_preload.c uapi/linux/bpfilter_ipc.h
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -Iuapi -o $@ $< -ldl

# The selftests' programs, built on the host as selftests/bpfilter/Makefile builds them in a
# kernel tree (compiling them in the guest under TCG takes seconds each). The C tests include
# "../kselftest_harness.h", which the kernel tree of make kernel provides: -I names a folder
# beside it that every tree has.
SELFTEST_CFLAGS := -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Iuapi -Ibuild/linux/tools/testing/selftests/bpf
SELFTEST_SRC := selftests/bpfilter
# By name, not looked up when make starts: make setup installs it after that.
CC32 ?= i686-linux-gnu-gcc

build/selftests/udp_flow: $(SELFTEST_SRC)/udp_flow.c $(SELFTEST_SRC)/flow_util.h
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -o $@ $<

build/selftests/reject_probe: $(SELFTEST_SRC)/reject_probe.c $(SELFTEST_SRC)/flow_util.h
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -o $@ $<

build/selftests/fake_helper: $(SELFTEST_SRC)/fake_helper.c $(SELFTEST_SRC)/fake_helper.h uapi/linux/bpfilter_ipc.h
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -o $@ $<

build/selftests/test_%: $(SELFTEST_SRC)/test_%.c $(SELFTEST_SRC)/helper_util.c $(SELFTEST_SRC)/helper_util.h $(SELFTEST_SRC)/fake_helper.h uapi/linux/bpfilter_ipc.h | kernel
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -o $@ $< $(SELFTEST_SRC)/helper_util.c -lpthread

# A static 32-bit program, for the compat test (gcc-i686-linux-gnu, from make setup).
build/selftests/compat_probe: $(SELFTEST_SRC)/compat_probe.c
	@mkdir -p $(@D)
	$(CC32) -static -O2 -Wall -Werror -o $@ $<

SELFTEST_PROGS := udp_flow reject_probe fake_helper compat_probe $(patsubst $(SELFTEST_SRC)/%.c,%,$(wildcard $(SELFTEST_SRC)/test_*.c))
selftests-build: setup $(addprefix build/selftests/,$(SELFTEST_PROGS))

vm-launcher-test: kernel
	@$(BIN)/vitest run --config vitest.vm.config.ts

vm-test: kernel helper shim selftests-build
	@$(TSX) tools/src/selftests.ts

# The real tools' command sequences in the guest, bpfilter against plain netfilter (R=tool,... for
# some): about a second per command under TCG, so not part of make test.
vm-replays: kernel helper
	@$(TSX) tools/src/vm-replays.ts

run: setup kernel helper selftests-build
	@tools/vm --timeout 600 --append "$(GUEST_HELPER)" -- tools/demo

# In this order on a clean clone: nothing a test needs is built after it.
test: setup typecheck kernel unit checkpatch selftests-build vm-launcher-test vm-test
	@echo "make test: all green"

# A clean Debian 12 root (debootstrap, cached), a clean clone of HEAD and ../shared in it, then
# make run and make test there as root; logs and times in build/rehearse/. Run before closing
# an issue that touches setup.
rehearse: setup
	@mkdir -p build
	@flock -n -E 75 build/.rehearse.lock $(TSX) tools/src/rehearse.ts || \
		{ s=$$?; [ $$s != 75 ] || echo "rehearse: another rehearsal holds build/.rehearse.lock"; exit $$s; }

# bpfilter against iptables-legacy and nftables in one interleaved run (tools/src/bench/main.ts).
build/bench/bench-sender: tools/src/bench/sender.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

bench: setup helper shim build/bench/bench-sender
	@$(TSX) tools/src/bench/main.ts

# Bounded exploration, not part of make test (test/fuzz/divergences.host.test.ts replays a slice).
fuzz: setup
	@$(TSX) usermode/test/fuzz/main.ts

# report.md and plot.svg again from build/bench/results.json, measuring nothing.
bench-report: setup
	@$(TSX) tools/src/bench/main.ts --report

clean:
	rm -rf build

# The kernel developer's workflow around kernel/patches: edit with git, export, format, check, send.
.PHONY: kernel-edit kernel-export series send checkpatch series-check fastloop selftests-sync

kernel-edit: setup
	@$(TSX) tools/src/kernel/edit.ts

kernel-export: setup
	@$(TSX) tools/src/kernel/export.ts

# Folds selftests/bpfilter/ into the series' selftests patch (tools/testing/selftests/bpfilter/).
selftests-sync: setup
	@$(TSX) tools/src/kernel/selftests-sync.ts

series: setup
	@$(TSX) tools/src/kernel/series.ts

send: setup
	@$(TSX) tools/src/kernel/send.ts

checkpatch: setup
	@$(TSX) tools/src/kernel/checkpatch.ts

# Its own tree and object dir (build/series-check/), so its own lock; make kernel first for the config.
series-check: kernel selftests-build
	@flock build/.series-check.lock $(TSX) tools/src/kernel/series-check.ts

# Times the inner loop (one-line change → export → make kernel → one selftest) in a scratch copy.
fastloop: kernel selftests-build
	@$(TSX) tools/src/kernel/fastloop.ts
