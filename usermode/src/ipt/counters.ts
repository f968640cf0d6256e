/** struct xt_counters arrays and IPT_SO_SET_ADD_COUNTERS (xt_copy_counters of x_tables.c). */
import { Errno, XT_COUNTERS, XT_COUNTERS_INFO, XT_TABLE_MAXNAMELEN, readCString } from "./abi.ts";
import { IptError } from "./ipt_error.ts";

/** One struct xt_counters. */
export interface XtCounters {
  readonly packets: bigint;
  readonly bytes: bigint;
}

/** A decoded struct xt_counters_info with its counters. */
export interface CountersInfo {
  readonly name: string;
  readonly counters: readonly XtCounters[];
}

/** Encodes an array of struct xt_counters. */
export function encodeCounters(counters: readonly XtCounters[]): Uint8Array {
  const bytes = new Uint8Array(counters.length * XT_COUNTERS.SIZE);
  const view = new DataView(bytes.buffer);
  counters.forEach((c, i) => {
    view.setBigUint64(i * XT_COUNTERS.SIZE + XT_COUNTERS.pcnt, BigInt.asUintN(64, c.packets), true);
    view.setBigUint64(i * XT_COUNTERS.SIZE + XT_COUNTERS.bcnt, BigInt.asUintN(64, c.bytes), true);
  });
  return bytes;
}

/** Decodes an array of struct xt_counters (what a replace returns as the old counters). */
export function decodeCounters(bytes: Uint8Array): XtCounters[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: Math.floor(bytes.byteLength / XT_COUNTERS.SIZE) }, (_, i) => ({
    packets: view.getBigUint64(i * XT_COUNTERS.SIZE + XT_COUNTERS.pcnt, true),
    bytes: view.getBigUint64(i * XT_COUNTERS.SIZE + XT_COUNTERS.bcnt, true),
  }));
}

/** Decodes an IPT_SO_SET_ADD_COUNTERS request with xt_copy_counters' length checks. */
export function decodeCountersInfo(optval: Uint8Array, optlen: number): CountersInfo {
  if (optlen <= XT_COUNTERS_INFO.SIZE) {
    throw new IptError(Errno.EINVAL, `xt_counters_info: optlen ${optlen} leaves no room for counters`);
  }
  const view = new DataView(optval.buffer, optval.byteOffset, optval.byteLength);
  if (optval.byteLength < XT_COUNTERS_INFO.SIZE) {
    throw new IptError(Errno.EFAULT, `xt_counters_info: only ${optval.byteLength} bytes were copied`);
  }
  const numCounters = view.getUint32(XT_COUNTERS_INFO.num_counters, true);
  const len = optlen - XT_COUNTERS_INFO.SIZE;
  if (numCounters * XT_COUNTERS.SIZE !== len) {
    throw new IptError(Errno.EINVAL, `xt_counters_info: num_counters ${numCounters} does not match the ${len} bytes of counters`);
  }
  if (optval.byteLength < optlen) {
    throw new IptError(Errno.EFAULT, `xt_counters_info: only ${optval.byteLength} of ${optlen} bytes were copied`);
  }
  const counters: XtCounters[] = [];
  for (let i = 0; i < numCounters; i++) {
    const at = XT_COUNTERS_INFO.counters + i * XT_COUNTERS.SIZE;
    counters.push({
      packets: view.getBigUint64(at + XT_COUNTERS.pcnt, true),
      bytes: view.getBigUint64(at + XT_COUNTERS.bcnt, true),
    });
  }
  return { name: readCString(optval, 0, XT_TABLE_MAXNAMELEN - 1), counters };
}

/** ADD_COUNTER on u64 counters, wrapping as the kernel's do. */
export function addCounters(a: XtCounters, b: XtCounters): XtCounters {
  return { packets: BigInt.asUintN(64, a.packets + b.packets), bytes: BigInt.asUintN(64, a.bytes + b.bytes) };
}
