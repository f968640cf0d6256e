// Program loading: patch map fds into BPF_LD_IMM64 instructions and kfunc BTF ids into calls, load, and
// on rejection reload with a verifier log so that the error says why.
import { closeSync } from "node:fs";
import koffi from "koffi";
import {
  BPF_CALL_OPCODE,
  BPF_INSN_SIZE,
  BPF_LD_IMM64_OPCODE,
  BPF_NETFILTER,
  BPF_PROG_TYPE,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  bpf_prog_load_opts,
} from "./abi.ts";
import { findKfunc, moduleBtfFd } from "./kfunc.ts";
import { BpfError, check } from "./errors.ts";
import { bpf_obj_get_info_by_fd, bpf_prog_load } from "./libbpf.ts";
import { takeLibbpfMessages } from "./libbpf-log.ts";
import type { BpfMap } from "./maps.ts";
import { checkObjectName } from "./names.ts";
import { getPinned } from "./pin.ts";

/** The program types the helper loads: netfilter programs (at netfilter hooks through netfilter links). */
export type ProgType = keyof typeof BPF_PROG_TYPE;

/** The expected attach type each program type is loaded with. */
const EXPECTED_ATTACH_TYPE: Readonly<Record<ProgType, number>> = { netfilter: BPF_NETFILTER };

/** A map reference: insn index of a BPF_LD_IMM64 (src_reg BPF_PSEUDO_MAP_FD) to patch with that map's fd. */
export interface MapRef {
  insn: number;
  map: string;
}

/** A kfunc reference: insn index of a BPF_CALL (src_reg BPF_PSEUDO_KFUNC_CALL) to patch with that kfunc's BTF id. */
export interface KfuncRef {
  insn: number;
  kfunc: string;
}

/** What loadProgram loads: raw little-endian struct bpf_insn bytes plus the maps they refer to. */
export interface ProgSpec {
  type: ProgType;
  name: string;
  insns: Uint8Array;
  mapRefs?: readonly MapRef[];
  maps?: Readonly<Record<string, BpfMap>>;
  kfuncRefs?: readonly KfuncRef[];
  license?: string;
}

/** A loaded, verified program. */
export interface BpfProgram {
  /** The program fd; owned by this object until close(). */
  readonly fd: number;
  /** The program's name (as given in its ProgSpec). */
  readonly name: string;
  /** Closes the fd; the program lives on while a link, a prog array or a pin holds it. */
  close(): void;
}

/** Verifier log buffer size for the retry: 16 MiB - 1 (older kernels' BPF_LOG_BUF_SIZE limit). */
const VERIFIER_LOG_SIZE = 0xffffffff >>> 8;
const ENOSPC = 28;

/** Copies `insns` and writes each referenced map's fd into the imm of its BPF_LD_IMM64. */
export function patchMapRefs(spec: ProgSpec): Uint8Array {
  const insns = new Uint8Array(spec.insns);
  const count = insns.length / BPF_INSN_SIZE;
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  for (const ref of spec.mapRefs ?? []) {
    const where = `program '${spec.name}': map reference at insn ${ref.insn}`;
    const map = spec.maps?.[ref.map];
    if (map === undefined) {
      const known = Object.keys(spec.maps ?? {});
      throw new RangeError(`${where}: map '${ref.map}' is not in the program's maps (${known.length > 0 ? known.join(", ") : "none given"})`);
    }
    if (!Number.isInteger(ref.insn) || ref.insn < 0 || ref.insn + 1 >= count) {
      throw new RangeError(`${where}: a BPF_LD_IMM64 needs insns ${ref.insn} and ${ref.insn + 1}, the program has ${count}`);
    }
    const offset = ref.insn * BPF_INSN_SIZE;
    const opcode = view.getUint8(offset);
    const srcReg = view.getUint8(offset + 1) >> 4;
    if (opcode !== BPF_LD_IMM64_OPCODE || srcReg !== BPF_PSEUDO_MAP_FD) {
      throw new RangeError(
        `${where}: expected BPF_LD_IMM64 (0x18) with src_reg BPF_PSEUDO_MAP_FD (1), found opcode 0x${opcode.toString(16)} src_reg ${srcReg}`,
      );
    }
    view.setInt32(offset + 4, map.fd, true);
    view.setInt32(offset + BPF_INSN_SIZE + 4, 0, true);
  }
  return insns;
}

/**
 * Writes each referenced kfunc's BTF id into the imm of its call, and the index of its module's BTF fd in
 * the returned fd_array into off (0: vmlinux). Returns the fd_array (undefined when no module is needed).
 */
export function patchKfuncRefs(spec: ProgSpec, insns: Uint8Array): number[] | undefined {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const count = insns.length / BPF_INSN_SIZE;
  const fdArray: number[] = [0]; // entry 0 is never read: off 0 means vmlinux
  for (const ref of spec.kfuncRefs ?? []) {
    const where = `program '${spec.name}': kfunc reference at insn ${ref.insn}`;
    if (!Number.isInteger(ref.insn) || ref.insn < 0 || ref.insn >= count) {
      throw new RangeError(`${where}: the program has ${count} insns`);
    }
    const offset = ref.insn * BPF_INSN_SIZE;
    const opcode = view.getUint8(offset);
    const srcReg = view.getUint8(offset + 1) >> 4;
    if (opcode !== BPF_CALL_OPCODE || srcReg !== BPF_PSEUDO_KFUNC_CALL) {
      throw new RangeError(`${where}: expected BPF_CALL (0x85) with src_reg BPF_PSEUDO_KFUNC_CALL (2), found opcode 0x${opcode.toString(16)} src_reg ${srcReg}`);
    }
    const location = findKfunc(ref.kfunc);
    let index = 0;
    if (location.module !== undefined) {
      const fd = moduleBtfFd(location.module);
      index = fdArray.indexOf(fd, 1);
      if (index < 0) index = fdArray.push(fd) - 1;
    }
    view.setInt16(offset + 2, index, true);
    view.setInt32(offset + 4, location.btfId, true);
  }
  return fdArray.length > 1 ? fdArray : undefined;
}

/** Loads and verifies a program; throws BpfError with the verifier log's tail when the kernel rejects it. */
export function loadProgram(spec: ProgSpec): BpfProgram {
  checkObjectName("program", spec.name);
  if (spec.insns.length === 0 || spec.insns.length % BPF_INSN_SIZE !== 0) {
    throw new RangeError(`program '${spec.name}': insns is ${spec.insns.length} bytes, not a non-empty multiple of ${BPF_INSN_SIZE}`);
  }
  const insns = patchMapRefs(spec);
  const fdArray = patchKfuncRefs(spec, insns);
  const count = insns.length / BPF_INSN_SIZE;
  const license = spec.license ?? "GPL";
  const load = (opts: Record<string, unknown>): number =>
    bpf_prog_load(BPF_PROG_TYPE[spec.type], spec.name, license, insns, count, {
      sz: koffi.sizeof(bpf_prog_load_opts),
      expected_attach_type: EXPECTED_ATTACH_TYPE[spec.type],
      ...(fdArray === undefined ? {} : { fd_array: Int32Array.from(fdArray) }),
      ...opts,
    });

  takeLibbpfMessages();
  const fd = load({ log_level: 0 });
  if (fd >= 0) {
    takeLibbpfMessages();
    return programFromFd(fd, spec.name);
  }
  // Rejected: load again with a log so that the error can say why. Keep the first errno, the retry may
  // differ (ENOSPC when even the largest buffer is too small for the log).
  const log = new Uint8Array(VERIFIER_LOG_SIZE);
  const retry = load({ log_level: 1, log_size: log.length, log_buf: log });
  if (retry >= 0) closeSync(retry); // passed the second time (a transient failure): report the first
  const end = log.indexOf(0);
  const verifierLog = Buffer.from(log.buffer, 0, end < 0 ? log.length : end).toString("utf8");
  const note = retry === -ENOSPC ? "verifier log truncated at BPF_LOG_BUF_SIZE" : undefined;
  throw new BpfError(
    `bpf_prog_load(${spec.type} '${spec.name}', ${count} insns)`,
    -fd,
    { verifierLog, libbpfMessages: takeLibbpfMessages() },
    note,
  );
}

/** Opens the program pinned at `path`; `name` is what errors call it. */
export function openPinnedProgram(path: string, name: string): BpfProgram {
  return programFromFd(getPinned(path), name);
}

/** Wraps the fd of a loaded program (e.g. from getPinned); takes ownership of the fd. */
export function programFromFd(fd: number, name: string): BpfProgram {
  return { fd, name, close: () => closeSync(fd) };
}

/** The kernel's id of a loaded program (the first two u32 of struct bpf_prog_info are type and id). */
export function programId(prog: BpfProgram): number {
  const head = new Uint32Array(2);
  const length = Uint32Array.of(head.byteLength);
  check(`bpf_obj_get_info_by_fd(program '${prog.name}')`, bpf_obj_get_info_by_fd(prog.fd, head, length));
  return head[1]!;
}
