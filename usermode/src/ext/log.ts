/**
 * The LOG target (net/netfilter/xt_LOG.c, struct xt_log_info), done by the series' bpf_nf_log, which
 * calls nf_log_packet with the loginfo log_tg builds: the same line, prefix, level and flags. Checked
 * as log_tg_check checks it; flags outside NF_LOG_MASK, which xt_LOG passes on and the kfunc refuses,
 * leave the table to netfilter.
 */
import type { LogTarget } from "../ir/targets.ts";
import { defineTarget, expectXtSize, UnsupportedFeature } from "./types.ts";

/** sizeof(struct xt_log_info): u8 level, u8 logflags, char prefix[30]. */
export const XT_LOG_INFO_SIZE = 32;
/** sizeof(xt_log_info.prefix), NUL included (NF_LOG_PREFIXLEN). */
export const LOG_PREFIX_SIZE = 30;

/** NF_LOG_* flags (linux/netfilter/nf_log.h) with their iptables option. */
const FLAGS: readonly [number, string][] = [
  [0x01, "--log-tcp-sequence"],
  [0x02, "--log-tcp-options"],
  [0x04, "--log-ip-options"],
  [0x08, "--log-uid"],
  [0x20, "--log-macdecode"],
];
/** NF_LOG_MASK: the flags nf_log_syslog knows. */
export const NF_LOG_MASK = 0x2f;
/** The level log_tg uses when iptables is given no --log-level (iptables-save omits it). */
const DEFAULT_LEVEL = 4;

/** The LOG target. */
export const log = defineTarget<LogTarget>({
  name: "LOG",
  kind: "log",
  revisions: [0],
  structSize: XT_LOG_INFO_SIZE,
  kfunc: "bpf_nf_log",
  then: "continue",
  decode(data) {
    const view = expectXtSize("target 'LOG'", data, XT_LOG_INFO_SIZE);
    const level = view.getUint8(0);
    const logflags = view.getUint8(1);
    const prefix = data.subarray(2, 2 + LOG_PREFIX_SIZE);
    if (level >= 8) throw new Error(`target 'LOG': level ${level} is not a syslog level (0-7)`);
    if (prefix[LOG_PREFIX_SIZE - 1] !== 0) throw new Error("target 'LOG': --log-prefix is not NUL-terminated");
    if ((logflags & ~NF_LOG_MASK) !== 0) {
      throw new UnsupportedFeature(`target 'LOG': flags 0x${logflags.toString(16)} outside NF_LOG_MASK (0x${NF_LOG_MASK.toString(16)}) are netfilter's to ignore`);
    }
    const end = prefix.indexOf(0);
    return { kind: "log", level, logflags, prefix: Buffer.from(prefix.subarray(0, end)).toString("latin1") };
  },
  // The prefix as xt_log_info holds it, NUL-padded: the kfunc prints it up to its NUL, as log_tg's "%s".
  args(t) {
    const prefix = new Uint8Array(LOG_PREFIX_SIZE);
    prefix.set(Buffer.from(t.prefix, "latin1"));
    return [{ u32: t.level }, { u32: t.logflags }, { bytes: prefix }];
  },
  describe(t) {
    const words = ["-j LOG"];
    if (t.prefix !== "") words.push(`--log-prefix ${JSON.stringify(t.prefix)}`);
    if (t.level !== DEFAULT_LEVEL) words.push(`--log-level ${t.level}`);
    for (const [bit, option] of FLAGS) if ((t.logflags & bit) !== 0) words.push(option);
    return words.join(" ");
  },
});
