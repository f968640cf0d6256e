// SPDX-License-Identifier: GPL-2.0
/*
 * The kfuncs for netfilter programs (bpf_nf_reject_ipv4, bpf_nf_log,
 * bpf_nf_set_mark) against the iptables targets they stand for. Each test
 * sends the same crafted packet from one network namespace to another
 * twice: once through an iptables-legacy rule with the target, once through
 * a netfilter program calling the kfunc, and compares what comes back (the
 * reply, the kernel log line, the mark a later rule sees). The programs are
 * raw instructions (no compiler in the guest); the kfuncs' BTF ids come
 * from /sys/kernel/btf/vmlinux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include "../kselftest_harness.h"
#include "helper_util.h"

/* Older uapi headers lack the netfilter program type (6.4). */
#define NF_PROG_TYPE		32	/* BPF_PROG_TYPE_NETFILTER */
#define NF_ATTACH_TYPE		45	/* BPF_NETFILTER */
#define NFPROTO_IPV4		2
#define NF_INET_LOCAL_IN	1
#define NF_INET_FORWARD		2
#define NF_INET_POST_ROUTING	4
#define NF_DROP			0
#define NF_ACCEPT		1
#define DYNPTR_READ		201	/* BPF_FUNC_dynptr_read */

#define ADDR_A	"10.12.0.1"
#define ADDR_B	"10.12.0.2"
#define PORT_A	40000
#define PORT_B	9
#define MAC_A	"02:00:00:00:00:0a"
#define MAC_B	"02:00:00:00:00:0b"
#define LOG_PREFIX "nfkf-log "
#define LOG_EVERY_FLAG "--log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode"
#define NEEDS_KFUNCS "needs CONFIG_NETFILTER_BPF_KFUNCS=y"

struct insn_buf {
	struct bpf_insn insn[64];
	int len;
};

static void emit(struct insn_buf *b, struct bpf_insn insn)
{
	b->insn[b->len++] = insn;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), \
	.src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_IMM(d, i)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV64_REG(d, s)	INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD64_IMM(d, i)	INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LDX_DW(d, s, o)	INSN(BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define LDX_B(d, s, o)	INSN(BPF_LDX | BPF_MEM | BPF_B, d, s, o, 0)
#define ST_W(d, o, i)	INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JNE_IMM(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define CALL_HELPER(i)	INSN(BPF_JMP | BPF_CALL, 0, 0, 0, i)
#define CALL_KFUNC(i)	INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, i)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* The BTF id of the function NAME in the kernel's BTF, or -1. */
static int kfunc_id(const char *name)
{
	static char *btf;
	static size_t btf_len;
	const struct btf_header *hdr;
	const char *types, *strs;
	size_t off = 0;
	int id = 1;

	if (!btf) {
		FILE *f = fopen("/sys/kernel/btf/vmlinux", "r");
		size_t n;

		if (!f)
			return -1;
		btf = malloc(64 << 20);
		n = btf ? fread(btf, 1, 64 << 20, f) : 0;
		fclose(f);
		if (n < sizeof(*hdr))
			return -1;
		btf_len = n;
	}
	hdr = (const void *)btf;
	if (hdr->magic != BTF_MAGIC ||
	    hdr->hdr_len + hdr->str_off + hdr->str_len > btf_len)
		return -1;
	types = btf + hdr->hdr_len + hdr->type_off;
	strs = btf + hdr->hdr_len + hdr->str_off;
	while (off + sizeof(struct btf_type) <= hdr->type_len) {
		const struct btf_type *t = (const void *)(types + off);
		unsigned int vlen = BTF_INFO_VLEN(t->info);
		size_t extra = 0;

		switch (BTF_INFO_KIND(t->info)) {
		case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
			extra = 4;
			break;
		case BTF_KIND_ARRAY:
			extra = 12;
			break;
		case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		case BTF_KIND_DATASEC: case BTF_KIND_ENUM64:
			extra = 12 * vlen;
			break;
		case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO:
			extra = 8 * vlen;
			break;
		case BTF_KIND_FUNC:
			if (t->name_off < hdr->str_len &&
			    !strcmp(strs + t->name_off, name))
				return id;
			break;
		}
		off += sizeof(*t) + extra;
		id++;
	}
	return -1;
}

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static char verifier_log[65536];

/* Loads the program; the fd, or -1 with the verifier's log in verifier_log. */
static int prog_load(int type, const struct insn_buf *b)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.expected_attach_type = type == NF_PROG_TYPE ? NF_ATTACH_TYPE : 0;
	attr.insns = (unsigned long)b->insn;
	attr.insn_cnt = b->len;
	attr.license = (unsigned long)"GPL";
	attr.log_buf = (unsigned long)verifier_log;
	attr.log_size = sizeof(verifier_log);
	attr.log_level = 1;
	verifier_log[0] = '\0';
	return bpf(BPF_PROG_LOAD, &attr);
}

/*
 * A netfilter link for PROG at LOCAL_IN of the current netns, at PRIORITY;
 * its fd or -1. A priority that a table's hook holds is busy (-EBUSY).
 */
static int nf_link(int prog, int priority)
{
	union bpf_attr attr;
	__u32 *nf;

	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = prog;
	attr.link_create.attach_type = NF_ATTACH_TYPE;
	/* link_create.netfilter: pf, hooknum, priority, flags */
	nf = (__u32 *)((char *)&attr.link_create + 16);
	nf[0] = NFPROTO_IPV4;
	nf[1] = NF_INET_LOCAL_IN;
	nf[2] = (__u32)priority;
	return bpf(BPF_LINK_CREATE, &attr);
}

/*
 * The prologue: r6 = ctx; jumps to the accept epilogue unless the packet's
 * IPv4 protocol is PROTO (read with bpf_dynptr_read into r10 - 48).
 */
static void emit_match_proto(struct insn_buf *b, int proto)
{
	emit(b, MOV64_REG(6, 1));
	emit(b, LDX_DW(1, 6, 8));		/* ctx->skb */
	emit(b, MOV64_IMM(2, 0));
	emit(b, MOV64_REG(3, 10));
	emit(b, ADD64_IMM(3, -16));
	emit(b, CALL_KFUNC(kfunc_id("bpf_dynptr_from_skb")));
	emit(b, JNE_IMM(0, 0, 0));		/* patched: to accept */
	emit(b, MOV64_REG(1, 10));
	emit(b, ADD64_IMM(1, -48));
	emit(b, MOV64_IMM(2, 20));
	emit(b, MOV64_REG(3, 10));
	emit(b, ADD64_IMM(3, -16));
	emit(b, MOV64_IMM(4, 0));
	emit(b, MOV64_IMM(5, 0));
	emit(b, CALL_HELPER(DYNPTR_READ));
	emit(b, JNE_IMM(0, 0, 0));		/* patched: to accept */
	emit(b, LDX_B(2, 10, -48 + 9));		/* iph->protocol */
	emit(b, JNE_IMM(2, proto, 0));		/* patched: to accept */
}

/* Ends the program: r0 = VERDICT; the accept epilogue the jumps above reach. */
static void emit_epilogue(struct insn_buf *b, int verdict)
{
	int i;

	emit(b, MOV64_IMM(0, verdict));
	emit(b, EXIT());
	for (i = 0; i < b->len; i++)
		if (b->insn[i].code == (BPF_JMP | BPF_JNE | BPF_K) &&
		    !b->insn[i].off)
			b->insn[i].off = b->len - i - 1;
	emit(b, MOV64_IMM(0, NF_ACCEPT));
	emit(b, EXIT());
}

static int ns_fd(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __u32 csum_add(__u32 sum, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/*
 * The packet both paths see: IPv4 from A to B with a fixed id, then a UDP
 * datagram or a TCP SYN with an MSS option, with a valid checksum
 * (nf_send_unreach and nf_send_reset check it). Returns its length.
 */
static size_t craft(unsigned char *pkt, int proto)
{
	size_t l4 = proto == IPPROTO_TCP ? 24 : 8 + 4;
	unsigned char *th = pkt + 20;
	__u32 sum;

	memset(pkt, 0, 20 + l4);
	pkt[0] = 0x45;
	pkt[2] = (20 + l4) >> 8;
	pkt[3] = (20 + l4) & 0xff;
	pkt[4] = 0x42;
	pkt[5] = 0x17;
	pkt[6] = 0x40;				/* DF */
	pkt[8] = 64;
	pkt[9] = proto;
	inet_pton(AF_INET, ADDR_A, pkt + 12);
	inet_pton(AF_INET, ADDR_B, pkt + 16);
	th[0] = PORT_A >> 8;
	th[1] = PORT_A & 0xff;
	th[2] = 0;
	th[3] = PORT_B;
	if (proto == IPPROTO_TCP) {
		memcpy(th + 4, "\x01\x02\x03\x04", 4);	/* seq */
		th[12] = 6 << 4;		/* doff: 6 words */
		th[13] = 0x02;			/* SYN */
		memcpy(th + 14, "\xfa\xf0", 2);	/* window */
		memcpy(th + 20, "\x02\x04\x05\xb4", 4);	/* MSS 1460 */
		sum = csum_add(0, pkt + 12, 8) + IPPROTO_TCP + l4;
		sum = csum_fold(csum_add(sum, th, l4));
		th[16] = sum >> 8;
		th[17] = sum & 0xff;
	} else {
		th[5] = l4;
		memcpy(th + 8, "kfnc", 4);	/* no checksum: 0 */
	}
	return 20 + l4;
}

/* Two network namespaces, A (the sender) and B (the rules), and a raw sender in A. */
struct nf_pair {
	struct saved_params saved;
	bool restore_params;
	char log_all_netns[8];
	char ns_a[32], ns_b[32];
	int fd_a, fd_b, home;
	int sender;
};

static void pair_setup(struct __test_metadata *_metadata, struct nf_pair *self)
{
	static const char *const kfuncs[] = {
		"bpf_nf_reject_ipv4", "bpf_nf_log", "bpf_nf_set_mark",
	};
	FILE *f;
	int i;

	if (getuid())
		SKIP(return, "must run as root");
	for (i = 0; i < 3; i++)
		if (kfunc_id(kfuncs[i]) < 0)
			SKIP(return, "no %s in the kernel's BTF: %s",
			     kfuncs[i], NEEDS_KFUNCS);
	if (system("iptables-legacy -V >/dev/null 2>&1"))
		SKIP(return, "needs iptables-legacy (apt-get install iptables)");
	/* iptables-legacy must reach netfilter itself, not the helper */
	if (!access(BPFILTER_PARAMS "/helper", W_OK)) {
		ASSERT_EQ(0, params_save(&self->saved));
		self->restore_params = true;
		ASSERT_EQ(0, param_write("helper", ""));
	}
	/* xt_LOG's lines from a netns other than the initial one */
	f = fopen("/proc/sys/net/netfilter/nf_log_all_netns", "r+");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(self->log_all_netns, sizeof(self->log_all_netns), f));
	rewind(f);
	fputs("1\n", f);
	fclose(f);

	snprintf(self->ns_a, sizeof(self->ns_a), "nfkf-a-%d", getpid());
	snprintf(self->ns_b, sizeof(self->ns_b), "nfkf-b-%d", getpid());
	ASSERT_EQ(0, sh("ip netns add %s", self->ns_a));
	ASSERT_EQ(0, sh("ip netns add %s", self->ns_b));
	/* fixed addresses: --log-macdecode prints them */
	ASSERT_EQ(0, sh("ip -n %s link add veth0 type veth peer name veth0 netns %s",
			self->ns_a, self->ns_b));
	ASSERT_EQ(0, sh("ip -n %s link set veth0 address %s", self->ns_a, MAC_A));
	ASSERT_EQ(0, sh("ip -n %s link set veth0 address %s", self->ns_b, MAC_B));
	ASSERT_EQ(0, sh("ip -n %s addr add %s/24 dev veth0", self->ns_a, ADDR_A));
	ASSERT_EQ(0, sh("ip -n %s addr add %s/24 dev veth0", self->ns_b, ADDR_B));
	ASSERT_EQ(0, sh("ip -n %s link set veth0 up", self->ns_a));
	ASSERT_EQ(0, sh("ip -n %s link set veth0 up", self->ns_b));
	/* one ICMP error after the other, to the same address */
	ASSERT_EQ(0, sh("ip netns exec %s sysctl -qw net.ipv4.icmp_ratelimit=0",
			self->ns_b));
	self->home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	self->fd_a = ns_fd(self->ns_a);
	self->fd_b = ns_fd(self->ns_b);
	ASSERT_LE(0, self->home);
	ASSERT_LE(0, self->fd_a);
	ASSERT_LE(0, self->fd_b);

	ASSERT_EQ(0, setns(self->fd_a, CLONE_NEWNET));
	self->sender = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	ASSERT_LE(0, self->sender);
	ASSERT_EQ(0, setns(self->home, CLONE_NEWNET));
}

static void pair_teardown(struct nf_pair *self)
{
	FILE *f;

	setns(self->home, CLONE_NEWNET);
	if (self->ns_a[0])
		sh("ip netns del %s; ip netns del %s", self->ns_a, self->ns_b);
	if (self->log_all_netns[0]) {
		f = fopen("/proc/sys/net/netfilter/nf_log_all_netns", "w");
		if (f) {
			fputs(self->log_all_netns, f);
			fclose(f);
		}
	}
	if (self->restore_params)
		params_restore(&self->saved);
}

FIXTURE(nf) {
	struct nf_pair p;
};

FIXTURE_SETUP(nf)
{
	pair_setup(_metadata, &self->p);
}

FIXTURE_TEARDOWN(nf)
{
	pair_teardown(&self->p);
}

FIXTURE(nf_reject) {
	struct nf_pair p;
};

FIXTURE_SETUP(nf_reject)
{
	pair_setup(_metadata, &self->p);
}

FIXTURE_TEARDOWN(nf_reject)
{
	pair_teardown(&self->p);
}

/* A socket in A that receives PROTO (raw), or -1. */
static int capture_socket(struct nf_pair *self, int proto)
{
	int fd;

	if (setns(self->fd_a, CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_RAW, proto);
	setns(self->home, CLONE_NEWNET);
	return fd;
}

static int send_packet(struct nf_pair *self, int proto)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned char pkt[64];
	size_t len = craft(pkt, proto);

	inet_pton(AF_INET, ADDR_B, &to.sin_addr);
	return sendto(self->sender, pkt, len, 0, (void *)&to, sizeof(to)) ==
	       (ssize_t)len ? 0 : -1;
}

/* iptables-legacy ARGS in B; its exit status. */
static int ipt(struct nf_pair *self, const char *fmt, ...)
{
	char args[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh("ip netns exec %s iptables-legacy -w %s", self->ns_b, args);
}

/*
 * The first packet from B on the capture socket FD that answers ours (an
 * ICMP error, or a TCP segment to our port), within 5 s: its length, or 0.
 */
static size_t capture_reply(int fd, int proto, unsigned char *buf, size_t size)
{
	long long end = now_ms() + 5000;
	struct in_addr b;

	inet_pton(AF_INET, ADDR_B, &b);
	while (now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, size, 0);
		if (n < 40 || memcmp(buf + 12, &b, 4))
			continue;
		if (proto == IPPROTO_ICMP && buf[20] != 3)
			continue;
		if (proto == IPPROTO_TCP &&
		    (buf[20] != 0 || buf[21] != PORT_B ||
		     (buf[22] << 8 | buf[23]) != PORT_A))
			continue;
		return n;
	}
	return 0;
}

static void drain(int fd)
{
	unsigned char buf[256];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void hexdump(const char *what, const unsigned char *p, size_t len)
{
	char line[3 * 256 + 1];
	size_t i;

	for (i = 0; i < len && i < 256; i++)
		sprintf(line + 3 * i, "%02x ", p[i]);
	line[3 * i] = '\0';
	printf("# %s: %s\n", what, line);
}

FIXTURE_VARIANT(nf_reject) {
	const char *with;	/* iptables' --reject-with */
	__u32 code;		/* enum ipt_reject_with */
	int icmp_code;		/* what the reply must carry; -1: a reset */
};

FIXTURE_VARIANT_ADD(nf_reject, net_unreachable) { "icmp-net-unreachable", 0, 0 };
FIXTURE_VARIANT_ADD(nf_reject, host_unreachable) { "icmp-host-unreachable", 1, 1 };
FIXTURE_VARIANT_ADD(nf_reject, proto_unreachable) { "icmp-proto-unreachable", 2, 2 };
FIXTURE_VARIANT_ADD(nf_reject, port_unreachable) { "icmp-port-unreachable", 3, 3 };
FIXTURE_VARIANT_ADD(nf_reject, net_prohibited) { "icmp-net-prohibited", 5, 9 };
FIXTURE_VARIANT_ADD(nf_reject, host_prohibited) { "icmp-host-prohibited", 6, 10 };
FIXTURE_VARIANT_ADD(nf_reject, admin_prohibited) { "icmp-admin-prohibited", 8, 13 };
FIXTURE_VARIANT_ADD(nf_reject, tcp_reset) { "tcp-reset", 7, -1 };

/*
 * REJECT: the reply to the same packet, from `-j REJECT --reject-with X`
 * and from a program calling bpf_nf_reject_ipv4(ctx, X), byte for byte.
 * An ICMP error's IP id and header checksum differ from one error to the
 * next (ip_select_ident), so these two fields are not compared; a reset
 * carries id 0 and is compared whole.
 */
TEST_F_TIMEOUT(nf_reject, replies_as_netfilter, 120)
{
	struct nf_pair *pair = &self->p;
	bool reset = variant->icmp_code < 0;
	int proto = reset ? IPPROTO_TCP : IPPROTO_UDP;
	unsigned char want[256], got[256];
	size_t want_len, got_len;
	struct insn_buf b = {};
	int cap, prog, link;

	cap = capture_socket(pair, reset ? IPPROTO_TCP : IPPROTO_ICMP);
	ASSERT_LE(0, cap);

	ASSERT_EQ(0, ipt(pair, "-A INPUT -p %s -j REJECT --reject-with %s",
			 reset ? "tcp" : "udp", variant->with));
	drain(cap);
	ASSERT_EQ(0, send_packet(pair, proto));
	want_len = capture_reply(cap, reset ? IPPROTO_TCP : IPPROTO_ICMP,
				 want, sizeof(want));
	ASSERT_EQ(0, ipt(pair, "-F INPUT"));
	ASSERT_NE(0, (int)want_len) TH_LOG("no reply from netfilter's REJECT");
	hexdump("REJECT", want, want_len);
	/* RST and ACK, or the ICMP code */
	ASSERT_EQ(reset ? 0x14 : variant->icmp_code,
		  reset ? want[33] & 0x14 : want[21]);

	emit_match_proto(&b, proto);
	emit(&b, MOV64_REG(1, 6));
	emit(&b, MOV64_IMM(2, variant->code));
	emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_reject_ipv4")));
	emit_epilogue(&b, NF_DROP);
	prog = prog_load(NF_PROG_TYPE, &b);
	ASSERT_LE(0, prog) TH_LOG("load: %s\n%s", strerror(errno), verifier_log);
	ASSERT_EQ(0, setns(pair->fd_b, CLONE_NEWNET));
	link = nf_link(prog, 1);
	ASSERT_EQ(0, setns(pair->home, CLONE_NEWNET));
	ASSERT_LE(0, link) TH_LOG("link: %s", strerror(errno));

	drain(cap);
	ASSERT_EQ(0, send_packet(pair, proto));
	got_len = capture_reply(cap, reset ? IPPROTO_TCP : IPPROTO_ICMP,
				got, sizeof(got));
	close(link);
	close(prog);
	ASSERT_NE(0, (int)got_len) TH_LOG("no reply from bpf_nf_reject_ipv4");
	hexdump("kfunc ", got, got_len);
	ASSERT_EQ((int)want_len, (int)got_len);
	if (!reset) {
		memset(want + 4, 0, 2);		/* id */
		memset(got + 4, 0, 2);
		memset(want + 10, 0, 2);	/* header checksum */
		memset(got + 10, 0, 2);
	}
	ASSERT_EQ(0, memcmp(want, got, want_len));
}

/* The next kernel log record whose text contains LOG_PREFIX, within 5 s. */
static int read_log_line(int kmsg, char *line, int size)
{
	long long end = now_ms() + 5000;
	char rec[1024];

	while (now_ms() < end) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);
		char *text, *nl;

		if (n < 0) {
			if (errno != EAGAIN && errno != EPIPE)
				return -1;
			sleep_ms(50);
			continue;
		}
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text || !strstr(text, LOG_PREFIX))
			continue;
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		/* the priority, then the text: "4,1234,567,-;nfkf-log IN=..." */
		*strchr(rec, ',') = '\0';
		snprintf(line, size, "<%.7s>%.*s", rec, size - 10, text + 1);
		return 0;
	}
	return -1;
}

static int open_kmsg(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * LOG: the kernel log line for the same packet from `-j LOG` and from a
 * program calling bpf_nf_log with the same level, flags and prefix: a TCP
 * SYN with every flag at warning, a UDP datagram with none at debug.
 */
TEST_F_TIMEOUT(nf, log_as_netfilter, 120)
{
	static const struct {
		int proto, level;
		__u32 flags;
		const char *ipt_flags;
	} cases[] = {
		{ IPPROTO_TCP, 4, 0x2f, LOG_EVERY_FLAG },
		{ IPPROTO_UDP, 7, 0, "" },
	};
	struct nf_pair *pair = &self->p;
	char want[1024], got[1024], prefix[16] = {};
	int kmsg, prog, link, i, c;
	__u32 word;

	memcpy(prefix, LOG_PREFIX, strlen(LOG_PREFIX));
	for (c = 0; c < 2; c++) {
		int proto = cases[c].proto;
		struct insn_buf b = {};

		kmsg = open_kmsg();
		ASSERT_LE(0, kmsg);
		ASSERT_EQ(0, ipt(pair, "-A INPUT -p %s -j LOG --log-prefix '%s' --log-level %d %s",
				 proto == IPPROTO_TCP ? "tcp" : "udp", LOG_PREFIX,
				 cases[c].level, cases[c].ipt_flags));
		ASSERT_EQ(0, send_packet(pair, proto));
		ASSERT_EQ(0, read_log_line(kmsg, want, sizeof(want)))
			TH_LOG("no line from netfilter's LOG");
		ASSERT_EQ(0, ipt(pair, "-F INPUT"));
		printf("# LOG:   %s\n", want);

		/* the prefix, NUL-padded to 16 bytes at r10 - 64 */
		emit_match_proto(&b, proto);
		for (i = 0; i < 16; i += 4) {
			memcpy(&word, prefix + i, 4);
			emit(&b, ST_W(10, -64 + i, word));
		}
		emit(&b, MOV64_REG(1, 6));
		emit(&b, MOV64_IMM(2, cases[c].level));
		emit(&b, MOV64_IMM(3, cases[c].flags));
		emit(&b, MOV64_REG(4, 10));
		emit(&b, ADD64_IMM(4, -64));
		emit(&b, MOV64_IMM(5, 16));
		emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_log")));
		emit_epilogue(&b, NF_ACCEPT);
		prog = prog_load(NF_PROG_TYPE, &b);
		ASSERT_LE(0, prog)
			TH_LOG("load: %s\n%s", strerror(errno), verifier_log);
		ASSERT_EQ(0, setns(pair->fd_b, CLONE_NEWNET));
		link = nf_link(prog, 1);
		ASSERT_EQ(0, setns(pair->home, CLONE_NEWNET));
		ASSERT_LE(0, link) TH_LOG("link: %s", strerror(errno));

		ASSERT_EQ(0, send_packet(pair, proto));
		ASSERT_EQ(0, read_log_line(kmsg, got, sizeof(got)))
			TH_LOG("no line from bpf_nf_log");
		close(link);
		close(prog);
		close(kmsg);
		printf("# kfunc: %s\n", got);
		ASSERT_STREQ(want, got);
	}
}

/* The packet count of the rule in B's INPUT that matches MARK exactly. */
static long mark_count(struct nf_pair *self, const char *mark)
{
	char cmd[256], out[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s iptables-legacy -w -nvxL INPUT | awk '/mark match %s$/ { print $1 }'",
		 self->ns_b, mark);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	return out[0] ? atol(out) : -1;
}

/*
 * MARK: three changes in a row, then a filter rule that counts packets
 * with the result: `-t mangle -j MARK --set-xmark` three times against a
 * program at mangle's priority calling bpf_nf_set_mark with the same
 * values. (0 & ~0xffffffff) ^ 0xff00ff, then (0xff00ff & ~0xffff) ^ 0x1234,
 * then 0xff1234 ^ 0x10 (--xor-mark): 0xff1224, where an OR, a plain set or
 * swapped arguments differ.
 */
TEST_F_TIMEOUT(nf, set_mark_as_netfilter, 120)
{
	struct nf_pair *pair = &self->p;
	struct insn_buf b = {};
	int prog, link;

	ASSERT_EQ(0, ipt(pair, "-A INPUT -m mark --mark 0xff1224"));
	ASSERT_EQ(0, ipt(pair, "-t mangle -A INPUT -j MARK --set-xmark 0xff00ff/0xffffffff"));
	ASSERT_EQ(0, ipt(pair, "-t mangle -A INPUT -j MARK --set-xmark 0x1234/0xffff"));
	ASSERT_EQ(0, ipt(pair, "-t mangle -A INPUT -j MARK --set-xmark 0x10/0"));
	ASSERT_EQ(0, send_packet(pair, IPPROTO_UDP));
	sleep_ms(500);
	ASSERT_EQ(1, mark_count(pair, "0xff1224"));
	ASSERT_EQ(0, ipt(pair, "-t mangle -F INPUT"));
	ASSERT_EQ(0, ipt(pair, "-Z INPUT"));

	emit_match_proto(&b, IPPROTO_UDP);
	emit(&b, MOV64_REG(1, 6));
	emit(&b, MOV64_IMM(2, 0xff00ff));
	emit(&b, MOV64_IMM(3, 0xffffffff));
	emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_set_mark")));
	emit(&b, MOV64_REG(1, 6));
	emit(&b, MOV64_IMM(2, 0x1234));
	emit(&b, MOV64_IMM(3, 0xffff));
	emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_set_mark")));
	emit(&b, MOV64_REG(1, 6));
	emit(&b, MOV64_IMM(2, 0x10));
	emit(&b, MOV64_IMM(3, 0));
	emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_set_mark")));
	emit_epilogue(&b, NF_ACCEPT);
	prog = prog_load(NF_PROG_TYPE, &b);
	ASSERT_LE(0, prog) TH_LOG("load: %s\n%s", strerror(errno), verifier_log);
	ASSERT_EQ(0, setns(pair->fd_b, CLONE_NEWNET));
	/* after the (now empty) mangle table, before filter */
	link = nf_link(prog, -149);
	ASSERT_EQ(0, setns(pair->home, CLONE_NEWNET));
	ASSERT_LE(0, link) TH_LOG("link: %s", strerror(errno));
	ASSERT_EQ(0, send_packet(pair, IPPROTO_UDP));
	sleep_ms(500);
	EXPECT_EQ(1, mark_count(pair, "0xff1224"));
	close(link);
	close(prog);
}

/*
 * The kfuncs are for netfilter programs only: a socket filter or a TC
 * program that calls one is refused by the verifier, while the same call
 * in a netfilter program loads.
 */
TEST(refused_outside_netfilter)
{
	static const struct { int type; const char *name; } types[] = {
		{ BPF_PROG_TYPE_SOCKET_FILTER, "socket filter" },
		{ BPF_PROG_TYPE_SCHED_CLS, "tc" },
	};
	static const char *const kfuncs[] = {
		"bpf_nf_reject_ipv4", "bpf_nf_log", "bpf_nf_set_mark",
	};
	char want[128];
	int i, j, fd;

	if (getuid())
		SKIP(return, "must run as root");
	if (kfunc_id("bpf_nf_set_mark") < 0)
		SKIP(return, "no bpf_nf_set_mark in the kernel's BTF: %s",
		     NEEDS_KFUNCS);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			struct insn_buf b = {};

			emit(&b, MOV64_IMM(2, 0));
			emit(&b, MOV64_IMM(3, 0));
			emit(&b, MOV64_IMM(4, 0));
			emit(&b, MOV64_IMM(5, 0));
			emit(&b, CALL_KFUNC(kfunc_id(kfuncs[j])));
			emit(&b, MOV64_IMM(0, 0));
			emit(&b, EXIT());
			fd = prog_load(types[i].type, &b);
			if (fd >= 0)
				close(fd);
			EXPECT_GT(0, fd) TH_LOG("%s loaded in a %s program",
						kfuncs[j], types[i].name);
			snprintf(want, sizeof(want),
				 "calling kernel function %s is not allowed",
				 kfuncs[j]);
			EXPECT_NE(NULL, strstr(verifier_log, want))
				TH_LOG("%s in a %s program: %s", kfuncs[j],
				       types[i].name, verifier_log);
		}
	}

	/* the control: bpf_nf_set_mark(ctx, 0, 0) in a netfilter program */
	{
		struct insn_buf b = {};

		emit(&b, MOV64_IMM(2, 0));
		emit(&b, MOV64_IMM(3, 0));
		emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_set_mark")));
		emit(&b, MOV64_IMM(0, NF_ACCEPT));
		emit(&b, EXIT());
		fd = prog_load(NF_PROG_TYPE, &b);
		ASSERT_LE(0, fd) TH_LOG("netfilter program: %s", verifier_log);
		close(fd);
	}
}

/*
 * bpf_nf_reject_ipv4(ctx, WITH) in a BPF_PROG_TEST_RUN of a packet at
 * HOOK; 1 when it returned WANT, 0 when it returned something else, or
 * -1 with errno when the run failed.
 */
static int reject_test_run(int hook, __u32 with, int want)
{
	unsigned char frame[14 + 64] = {}, state[2] = { hook, NFPROTO_IPV4 };
	struct insn_buf b = {};
	union bpf_attr attr;
	int prog, err;
	size_t len;

	emit(&b, MOV64_REG(6, 1));
	emit(&b, MOV64_IMM(2, with));
	emit(&b, CALL_KFUNC(kfunc_id("bpf_nf_reject_ipv4")));
	emit(&b, INSN(BPF_JMP32 | BPF_JEQ | BPF_K, 0, 0, 2, want));
	emit(&b, MOV64_IMM(0, NF_DROP));
	emit(&b, EXIT());
	emit(&b, MOV64_IMM(0, NF_ACCEPT));
	emit(&b, EXIT());
	prog = prog_load(NF_PROG_TYPE, &b);
	if (prog < 0)
		return -1;

	/* an Ethernet frame, as the test run reads one except at LOCAL_OUT */
	frame[12] = 0x08;
	len = craft(frame + 14, IPPROTO_TCP);
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = prog;
	attr.test.data_in = (unsigned long)frame;
	attr.test.data_size_in = 14 + len;
	/* struct nf_hook_state starts with u8 hook, u8 pf */
	attr.test.ctx_in = (unsigned long)state;
	attr.test.ctx_size_in = sizeof(state);
	err = bpf(BPF_PROG_TEST_RUN, &attr);
	close(prog);
	return err ? -1 : (int)attr.test.retval;
}

/*
 * What bpf_nf_reject_ipv4 refuses: an unknown type (IPT_ICMP_ECHOREPLY,
 * which ipt_REJECT refuses too), POST_ROUTING, and a packet of
 * BPF_PROG_TEST_RUN, which has no route and no netns for a reply: a valid
 * TCP SYN there with tcp-reset must be refused rather than answered.
 */
TEST(reject_refusals)
{
	if (getuid())
		SKIP(return, "must run as root");
	if (kfunc_id("bpf_nf_reject_ipv4") < 0)
		SKIP(return, "no bpf_nf_reject_ipv4 in the kernel's BTF: %s",
		     NEEDS_KFUNCS);
	EXPECT_EQ(1, reject_test_run(NF_INET_LOCAL_IN, 4, -EINVAL))
		TH_LOG("echo-reply: %s", strerror(errno));
	EXPECT_EQ(1, reject_test_run(NF_INET_POST_ROUTING, 3, -EOPNOTSUPP))
		TH_LOG("POST_ROUTING: %s", strerror(errno));
	EXPECT_EQ(1, reject_test_run(NF_INET_LOCAL_IN, 7, -EINVAL))
		TH_LOG("tcp-reset in a test run: %s", strerror(errno));
	EXPECT_EQ(1, reject_test_run(NF_INET_FORWARD, 3, -EINVAL))
		TH_LOG("port-unreachable in a test run: %s", strerror(errno));
}

TEST_HARNESS_MAIN
