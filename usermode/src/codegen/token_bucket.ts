/**
 * xt_limit's token bucket (net/netfilter/xt_limit.c), exactly: its credit arithmetic on jiffies
 * (user2credits, CREDITS_PER_JIFFY, the u32 wrap-arounds included), its state per rule shared by
 * every CPU, and limit_mt's update: xchg of prev, then a cmpxchg of credit, retried as the kernel
 * retries it. The state of each limit match of a table is one slot of the "limits" array map,
 * {u64 prev, u32 credit}, which the enforcer fills at load as limit_mt_check does (prev = jiffies,
 * credit full) and which a replace makes anew, as netfilter's checkentry does.
 */
import { add, atomicCmpxchg, atomicXchg, call, ja, jeq, jgt, jle, ldMapFd, ldx, lsh, mov, st, stx, sub } from "./asm/index.ts";
import type { LimitMatch } from "../ir/matches.ts";
import type { Table } from "../ir/types.ts";
import type { ProgramBuilder } from "./builder.ts";
import { DeclineError } from "./decline.ts";
import { HELPER, STACK } from "./layout.ts";

/** Name of the limits map in mapRefs, and the kernel's name of it. */
export const LIMITS_MAP = "limits";
export const LIMITS_MAP_NAME = "bpfilter_limit";
/** One slot: u64 prev (jiffies), u32 credit, u32 of padding. */
export const LIMIT_VALUE = { SIZE: 16, PREV: 0, CREDIT: 8 } as const;

const XT_LIMIT_SCALE = 10000;
const U32 = 0xffff_ffffn;
/**
 * Retries of the cmpxchg loop before the packet is taken as over the limit: each retry means that
 * another CPU updated the bucket in between, so it takes that many packets of other CPUs landing
 * within the few instructions of one try (the verifier needs the loop bounded).
 */
export const LIMIT_RETRIES = 8;

/** CREDITS_PER_JIFFY: the power of two below 0xFFFFFFFF / (HZ * 60 * 60 * 24) (POW2_BELOW32). */
export function creditsPerJiffy(hz: number): number {
  const max = Math.floor(0xffff_ffff / (hz * 86400));
  let p = 1;
  while (p * 2 <= max) p *= 2;
  return p;
}

/** user2credits(): avg-style seconds * XT_LIMIT_SCALE as credits, in u32 arithmetic. */
export function user2credits(user: number, hz: number): number {
  const cpj = creditsPerJiffy(hz);
  if (user > Math.floor(0xffff_ffff / (hz * cpj))) {
    return Number((BigInt(Math.floor(user / XT_LIMIT_SCALE)) * BigInt(hz) * BigInt(cpj)) & U32);
  }
  return Math.floor((user * hz * cpj) / XT_LIMIT_SCALE);
}

/** What limit_mt_check makes of a limit match: the full credit, the cap and the cost. */
export interface BucketParams {
  readonly credit: number;
  readonly cap: number;
  readonly cost: number;
}

/** limit_mt_check's arithmetic; throws DeclineError where it answers ERANGE (netfilter then does). */
export function bucketParams(m: LimitMatch, hz: number): BucketParams {
  const full = user2credits(Math.imul(m.avg, m.burst) >>> 0, hz);
  if (m.burst === 0 || full < user2credits(m.avg, hz)) {
    throw new DeclineError(`match 'limit': avg ${m.avg} burst ${m.burst} overflow the kernel's credits (netfilter judges it: ERANGE)`);
  }
  return m.cost === 0 ? { credit: full, cap: full, cost: user2credits(m.avg, hz) } : { credit: full, cap: m.creditCap, cost: m.cost };
}

/** The slot of each limit match of a table, in table order (a user chain's rules have one slot, however many jumps reach them). */
export function bucketSlots(table: Table): Map<LimitMatch, number> {
  const slots = new Map<LimitMatch, number>();
  for (const chain of table.chains) {
    for (const rule of chain.rules) for (const m of rule.matches) if (m.kind === "limit") slots.set(m, slots.size);
  }
  return slots;
}

/** The initial value of each slot (prev = `jiffies`, credit full), for the enforcer's map. */
export function bucketInitialValues(table: Table, hz: number, jiffies: bigint): Uint8Array[] {
  return [...bucketSlots(table).keys()].map((m) => {
    const value = new Uint8Array(LIMIT_VALUE.SIZE);
    const view = new DataView(value.buffer);
    view.setBigUint64(LIMIT_VALUE.PREV, jiffies, true);
    view.setUint32(LIMIT_VALUE.CREDIT, bucketParams(m, hz).credit, true);
    return value;
  });
}

/**
 * Emits limit_mt for slot `slot`: falls through when the packet conforms, jumps to noMatch when
 * not. Clobbers r0-r5 (r6-r9 are kept across the helper calls).
 */
export function emitTokenBucket(b: ProgramBuilder, slot: number, p: BucketParams, hz: number, noMatch: string): void {
  const shift = Math.log2(creditsPerJiffy(hz));
  const slow = b.label("limit_slow");
  const conform = b.label("limit_conform");
  b.emit(
    call(HELPER.JIFFIES64),
    stx("u64", 10, STACK.LIMIT_NOW, 0),
    st("u32", 10, STACK.LIMIT_KEY, slot),
    ldMapFd(1, LIMITS_MAP),
    mov.reg(2, 10),
    add.imm(2, STACK.LIMIT_KEY),
    call(HELPER.MAP_LOOKUP_ELEM),
    jeq.imm(0, 0, noMatch), // an array map: the slot is there
    mov.reg(1, 0),
    ldx("u64", 2, 10, STACK.LIMIT_NOW),
  );
  // The fast path: no credit for the cost, and no jiffy passed since the last update.
  if (p.cost > 0) {
    b.emit(ldx("u32", 3, 1, LIMIT_VALUE.CREDIT), jgt.imm32(3, p.cost - 1, slow), ldx("u64", 4, 1, LIMIT_VALUE.PREV), jeq.reg(4, 2, noMatch));
  }
  b.place(slow);
  b.emit(mov.imm32(5, 0)); // credit_increase
  for (let i = 0; i < LIMIT_RETRIES; i++) {
    const capped = b.label("limit_capped");
    const take = b.label("limit_take");
    const retry = b.label("limit_retry");
    b.emit(
      mov.reg(4, 2),
      atomicXchg("u64", 1, LIMIT_VALUE.PREV, 4), // r4 = the old prev
      mov.reg(0, 2),
      sub.reg(0, 4),
      lsh.imm(0, shift), // (now - prev) * CREDITS_PER_JIFFY
      add.reg32(5, 0),
      ldx("u32", 0, 1, LIMIT_VALUE.CREDIT), // old_credit
      mov.reg32(4, 0),
      mov.reg32(3, 0),
      add.reg32(3, 5),
      jle.imm32(3, p.cap, capped),
      mov.imm32(3, p.cap),
    );
    b.place(capped);
    if (p.cost > 0) {
      b.emit(jgt.imm32(3, p.cost - 1, take), atomicCmpxchg("u32", 1, LIMIT_VALUE.CREDIT, 3), jeq.reg32(0, 4, noMatch), ja(retry));
    }
    b.place(take);
    if (p.cost > 0) b.emit(sub.imm32(3, p.cost));
    b.emit(atomicCmpxchg("u32", 1, LIMIT_VALUE.CREDIT, 3), jeq.reg32(0, 4, conform));
    b.place(retry);
  }
  b.emit(ja(noMatch));
  b.place(conform);
}
