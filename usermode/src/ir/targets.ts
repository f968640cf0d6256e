/**
 * The decoded target extensions of the IR: one member of `TargetAction` per target the compiler
 * knows, discriminated by `kind` (the extension's name in lower case). ext/<name>.ts decodes its
 * xt data into its member once (ir/resolve.ts). Each is done through one of the series' kfuncs for
 * netfilter programs; a REJECT then drops the packet, a LOG or MARK goes on with the next rule.
 */

/** -j REJECT (struct ipt_reject_info): the reply --reject-with names, an enum ipt_reject_with value. */
export interface RejectTarget {
  readonly kind: "reject";
  readonly with: number;
}

/** -j LOG (struct xt_log_info): the syslog level, the NF_LOG_* flags and --log-prefix (latin1, no NUL). */
export interface LogTarget {
  readonly kind: "log";
  readonly level: number;
  readonly logflags: number;
  readonly prefix: string;
}

/** -j MARK, revision 2 (struct xt_mark_tginfo2): skb->mark = (skb->mark & ~mask) ^ mark. */
export interface MarkTarget {
  readonly kind: "mark";
  readonly mark: number;
  readonly mask: number;
}

export type TargetAction = RejectTarget | LogTarget | MarkTarget;
