/**
 * Filter tables for the stateful differential tests (conntrack.host.test.ts): hand-written ones as
 * stateful firewalls write them, and random ones from a seed over conntrack --ctstate/--ctdir,
 * state, mark, pkttype and the protocols and ports of the flows, each as iptables-restore reads it.
 *
 * A random table DROPs only with rules that hold for the first packet of every flow they hold for
 * at all (no ESTABLISHED, no negated state, no --ctdir): a flow is then cut at its first packet,
 * which the kernel retransmits only after the flows' step timeout, so the packets sent do not depend
 * on timing. Policies are ACCEPT.
 */
import { prng } from "./random_rulesets.ts";

const HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

/** Hand-written stateful tables. */
export const STATEFUL_RULESETS: Record<string, string> = {
  "a stateful server: INVALID dropped, ESTABLISHED/RELATED accepted, NEW by port, policy DROP": `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p udp -m udp --dport 53 -j ACCEPT
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A OUTPUT -m conntrack --ctstate ESTABLISHED
-A OUTPUT -m conntrack --ctstate RELATED
-A OUTPUT -m conntrack --ctstate NEW
-A OUTPUT -m conntrack --ctstate UNTRACKED
-A OUTPUT -m conntrack --ctstate INVALID
COMMIT
`,
  "every state, direction and negation counted, INPUT and OUTPUT": `${HEAD}
-A INPUT -m conntrack --ctstate NEW
-A INPUT -m conntrack --ctstate ESTABLISHED
-A INPUT -m conntrack --ctstate RELATED
-A INPUT -m conntrack --ctstate INVALID
-A INPUT -m conntrack --ctstate UNTRACKED
-A INPUT -m conntrack ! --ctstate NEW,ESTABLISHED
-A INPUT -m conntrack ! --ctstate INVALID,UNTRACKED
-A INPUT -m conntrack --ctdir ORIGINAL
-A INPUT -m conntrack --ctdir REPLY
-A INPUT -m conntrack --ctstate ESTABLISHED --ctdir REPLY
-A INPUT -m conntrack ! --ctstate NEW --ctdir ORIGINAL
-A INPUT -m state --state NEW,RELATED
-A INPUT -m state ! --state INVALID
-A INPUT -m state --state UNTRACKED
-A INPUT -p tcp -m conntrack --ctstate INVALID -j DROP
-A OUTPUT -m conntrack --ctstate NEW
-A OUTPUT -m conntrack --ctstate ESTABLISHED
-A OUTPUT -m conntrack --ctstate RELATED
-A OUTPUT -m conntrack --ctstate INVALID
-A OUTPUT -m conntrack --ctstate UNTRACKED
-A OUTPUT -m conntrack --ctdir ORIGINAL
-A OUTPUT -m conntrack --ctdir REPLY
-A OUTPUT -m state --state ESTABLISHED,RELATED
-A OUTPUT -m state ! --state NEW
COMMIT
`,
  "marks: values, masks, negations, with states": `${HEAD}
-A INPUT -m mark --mark 0x1
-A INPUT -m mark --mark 0x2/0xf
-A INPUT -m mark --mark 0x10/0xf0
-A INPUT -m mark ! --mark 0x0
-A INPUT -m mark --mark 0x12 -m conntrack --ctstate NEW -j DROP
-A INPUT -p udp -m mark ! --mark 0x1 -j ACCEPT
-A INPUT -m mark --mark 0x1 -m state --state NEW -j ACCEPT
-A OUTPUT -m mark --mark 0x22
-A OUTPUT -m mark --mark 0x80000001
-A OUTPUT -m mark --mark 0x80000000/0x80000000
-A OUTPUT -m mark ! --mark 0x22/0xff -m conntrack --ctstate ESTABLISHED
-A OUTPUT -m mark --mark 0x22 -j DROP
COMMIT
`,
  "pkttype: unicast, broadcast, multicast, looped back, negations": `${HEAD}
-A INPUT -m pkttype --pkt-type unicast
-A INPUT -m pkttype --pkt-type broadcast
-A INPUT -m pkttype --pkt-type multicast
-A INPUT -m pkttype --pkt-type otherhost
-A INPUT -m pkttype ! --pkt-type unicast
-A INPUT -p udp -m pkttype --pkt-type multicast -m conntrack --ctstate NEW
-A INPUT -s 10.77.0.2/32 -m pkttype --pkt-type broadcast
-A INPUT -s 10.77.0.2/32 -d 224.0.0.0/4 -m pkttype --pkt-type multicast
-A INPUT -s 10.77.0.2/32 -d 224.0.0.0/4 -m pkttype --pkt-type broadcast
-A INPUT -d 10.77.0.255/32 -m pkttype ! --pkt-type broadcast
-A INPUT -m pkttype --pkt-type broadcast -j DROP
-A OUTPUT -m pkttype --pkt-type unicast
-A OUTPUT -m pkttype ! --pkt-type unicast
-A OUTPUT -m pkttype --pkt-type multicast -j DROP
COMMIT
`,
  "NAT states and status bits: SNAT, DNAT, --ctstatus, negations, with --ctdir": `${HEAD}
-A INPUT -m conntrack --ctstate DNAT
-A INPUT -m conntrack --ctstate SNAT
-A INPUT -m conntrack ! --ctstate DNAT
-A INPUT -m conntrack --ctstate SNAT,DNAT --ctdir REPLY
-A INPUT -m conntrack --ctstate NEW,DNAT
-A INPUT -m conntrack ! --ctstate SNAT,INVALID
-A INPUT -m conntrack --ctstatus ASSURED
-A INPUT -m conntrack --ctstatus SEEN_REPLY
-A INPUT -m conntrack ! --ctstatus CONFIRMED
-A INPUT -m conntrack --ctstatus NONE
-A INPUT -m conntrack ! --ctstatus EXPECTED,SEEN_REPLY
-A INPUT -m conntrack --ctstate ESTABLISHED,DNAT --ctstatus SEEN_REPLY
-A INPUT -m conntrack --ctstate INVALID,UNTRACKED ! --ctstatus ASSURED
-A INPUT -p tcp -m mark --mark 0x12 -m conntrack --ctstate DNAT
-A INPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT --ctdir ORIGINAL -j ACCEPT
-A INPUT -p udp -m conntrack --ctstate SNAT -j DROP
-A OUTPUT -m conntrack --ctstate DNAT
-A OUTPUT -m conntrack --ctstate SNAT
-A OUTPUT -m conntrack ! --ctstate SNAT,DNAT
-A OUTPUT -m conntrack --ctstatus SEEN_REPLY --ctdir REPLY
-A OUTPUT -m conntrack ! --ctstatus ASSURED
-A OUTPUT -p tcp -m tcp --sport 80 -m conntrack --ctstate DNAT -j ACCEPT
COMMIT
`,
  "tuple options and --ctexpire: addresses, masks, --ctproto, ports and ranges, NATed flows, negations": `${HEAD}
-A INPUT -m conntrack --ctorigsrc 10.77.0.1
-A INPUT -m conntrack --ctorigsrc 10.77.0.0/24 --ctorigdst 10.77.0.2
-A INPUT -m conntrack ! --ctorigsrc 10.77.0.1
-A INPUT -m conntrack --ctreplsrc 10.77.0.2 --ctrepldst 10.77.0.1
-A INPUT -m conntrack --ctrepldst 10.77.0.2
-A INPUT -m conntrack ! --ctrepldst 10.77.0.0/16
-A INPUT -m conntrack --ctproto tcp
-A INPUT -m conntrack ! --ctproto udp
-A INPUT -m conntrack --ctproto icmp
-A INPUT -m conntrack --ctorigdstport 8080
-A INPUT -m conntrack --ctreplsrcport 80 --ctorigdstport 8080
-A INPUT -m conntrack --ctorigdstport 22:80
-A INPUT -m conntrack --ctorigdstport 22:79
-A INPUT -m conntrack --ctorigdstport 23:80
-A INPUT -m conntrack ! --ctorigdstport 81:8080
-A INPUT -m conntrack ! --ctorigdstport 53
-A INPUT -m conntrack --ctrepldstport 1000:1100
-A INPUT -m conntrack --ctorigsrcport 1024:65535 --ctproto tcp
-A INPUT -m conntrack --ctstate NEW --ctorigdstport 22
-A INPUT -m conntrack --ctstate INVALID,UNTRACKED ! --ctorigsrc 10.77.0.1
-A INPUT -m conntrack --ctstate DNAT --ctreplsrcport 80 --ctstatus SEEN_REPLY
-A INPUT -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j ACCEPT
-A INPUT -p udp -m conntrack --ctrepldstport 1000:1100 -j DROP
-A OUTPUT -m conntrack --ctorigsrc 10.77.0.2
-A OUTPUT -m conntrack --ctreplsrc 10.77.0.1 --ctproto udp
-A OUTPUT -m conntrack ! --ctorigdstport 8080
-A OUTPUT -m conntrack --ctorigsrcport 1000:1100
-A OUTPUT -m conntrack --ctorigdst 10.77.0.1 ! --ctorigdstport 22 --ctdir ORIGINAL
-A INPUT -m conntrack --ctexpire 0:200
-A INPUT -m conntrack --ctexpire 1000:1000000
-A INPUT -m conntrack ! --ctexpire 0:200
-A INPUT -p udp -m conntrack --ctexpire 0:4294967295
-A INPUT -m conntrack --ctexpire 200:100
-A OUTPUT -m conntrack --ctexpire 1000:1000000 --ctproto tcp
COMMIT
`,
  "user chains with states, RELATED and UNTRACKED dropped": `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:stateful - [0:0]
-A INPUT -j stateful
-A INPUT -p udp -m conntrack --ctstate UNTRACKED -j DROP
-A INPUT -m conntrack --ctstate RELATED -j DROP
-A stateful -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A stateful -p tcp -m tcp --dport 80 -m state --state NEW -j DROP
-A stateful -m conntrack --ctstate INVALID -j DROP
-A stateful -j RETURN
-A OUTPUT -m conntrack --ctstate RELATED -j DROP
-A OUTPUT -m state --state UNTRACKED -j DROP
COMMIT
`,
};

const STATES = ["INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED"] as const;
/** conntrack's own states: SNAT holds in b's INPUT only from a mapped flow's replies, DNAT from the first packet. */
const NAT_STATES = ["SNAT", "DNAT"] as const;
const STATUSES = ["EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "NONE"] as const;
/** Tuple options, each the same for every packet of a flow. */
const TUPLES = [
  "--ctorigsrc 10.77.0.1", "--ctorigsrc 10.77.0.2", "--ctorigdst 10.77.0.0/24", "--ctreplsrc 10.77.0.2", "--ctrepldst 10.77.0.1/32",
  "--ctproto tcp", "--ctproto udp", "--ctproto icmp", "--ctorigdstport 22", "--ctorigdstport 53:8080", "--ctreplsrcport 80",
  "--ctrepldstport 1000:1100", "--ctorigsrcport 1024:65535",
];
const PROTOCOLS = ["", "", "-p tcp", "-p udp", "-p icmp", "-p tcp -m tcp --dport 22", "-p tcp -m tcp --dport 80", "-p udp -m udp --dport 53", "-p udp -m udp --sport 53"];
const MARKS = ["0x1", "0x12", "0x22", "0x80000001", "0x2/0xf", "0x0/0xff", "0x80000000/0x80000000", "0x0"];

/** A random filter table of `seed` (see the file comment). */
export function randomStatefulRuleset(seed: number): string {
  const random = prng(seed * 104_729);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const states = (): string[] => {
    const chosen = STATES.filter(() => random() < 0.35);
    return chosen.length > 0 ? chosen : [pick(STATES)];
  };
  const rule = (): string => {
    const words: string[] = [];
    let dropSafe = true;
    const proto = pick(PROTOCOLS);
    if (proto !== "") words.push(proto);
    const kinds = Math.floor(random() * 3); // 0: conntrack/state; 1: mark; 2: both
    if (random() < 0.2) words.push(`-m pkttype ${random() < 0.3 ? "! " : ""}--pkt-type ${pick(["unicast", "broadcast", "multicast"])}`);
    if (kinds !== 1) {
      const chosen = states();
      const invert = random() < 0.3;
      const unsafe = invert || chosen.includes("ESTABLISHED");
      if (random() < 0.5) {
        words.push(`-m state ${invert ? "! " : ""}--state ${chosen.join(",")}`);
      } else {
        const nat = NAT_STATES.filter(() => random() < 0.2);
        words.push(`-m conntrack ${invert ? "! " : ""}--ctstate ${[...chosen, ...nat].join(",")}`);
        if (nat.includes("SNAT")) dropSafe = false;
        if (random() < 0.3) words.push(`${random() < 0.3 ? "! " : ""}${pick(TUPLES)}`);
        if (random() < 0.25) {
          const statuses = STATUSES.filter(() => random() < 0.3);
          words.push(`${random() < 0.3 ? "! " : ""}--ctstatus ${(statuses.length > 0 ? statuses : [pick(STATUSES)]).join(",")}`);
          dropSafe = false; // SEEN_REPLY and ASSURED change within a flow
        }
        if (random() < 0.3) {
          words.push(`--ctdir ${pick(["ORIGINAL", "REPLY"])}`);
          dropSafe = false;
        }
      }
      if (unsafe) dropSafe = false;
    }
    if (kinds !== 0) words.push(`-m mark ${random() < 0.3 ? "! " : ""}--mark ${pick(MARKS)}`);
    const target = pick(dropSafe ? ["", "", "-j ACCEPT", "-j DROP", "-j DROP"] : ["", "", "", "-j ACCEPT"]);
    return [...words, target].filter((w) => w !== "").join(" ");
  };
  const lines = [HEAD.trimEnd()];
  for (const chain of ["INPUT", "OUTPUT", "FORWARD"]) {
    const count = chain === "FORWARD" ? 2 : 4 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) lines.push(`-A ${chain} ${rule()}`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}
