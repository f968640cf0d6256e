// A reader of BTF (the kernel's type format, Documentation/bpf/btf.rst): the running kernel's
// /sys/kernel/btf/vmlinux and its modules' split BTF. The helper takes from it what it must not
// hard-code: offsets of kernel struct members for BTF-typed loads (sk_buff.len, nf_hook_state.in),
// the ids of kfuncs, and the values of kernel enums.
import { readFileSync } from "node:fs";

/** BTF_KIND_* numbers. */
export const BTF_KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

const BTF_MAGIC = 0xeb9f;
const HEADER_SIZE = 24;

/** A struct or union member: name, type id, offset in bits (and bitfield size, 0 when not one). */
export interface BtfMember {
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  readonly bitfieldSize: number;
}

/** One BTF type record, decoded. */
export interface BtfType {
  readonly id: number;
  readonly kind: number;
  readonly name: string;
  /** size (INT, STRUCT, UNION, ENUM, FLOAT) or referenced type id (PTR, TYPEDEF, CONST, FUNC, ...). */
  readonly sizeOrType: number;
  readonly members?: readonly BtfMember[];
  readonly enumValues?: readonly { readonly name: string; readonly value: bigint }[];
  readonly array?: { readonly type: number; readonly nelems: number };
}

/** Where a member lies in its outermost struct: byte offset and byte size. */
export interface MemberLocation {
  readonly offset: number;
  readonly size: number;
}

/** The bytes of one BTF blob, split into its sections (throws naming `source` on a malformed one). */
function sections(bytes: Uint8Array, source: string): { types: DataView; strings: Uint8Array } {
  if (bytes.length < HEADER_SIZE) throw new Error(`BTF ${source}: ${bytes.length} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0, true) !== BTF_MAGIC) throw new Error(`BTF ${source}: bad magic 0x${view.getUint16(0, true).toString(16)}`);
  const hdrLen = view.getUint32(4, true);
  const [typeOff, typeLen, strOff, strLen] = [8, 12, 16, 20].map((at) => view.getUint32(at, true)) as [number, number, number, number];
  if (hdrLen + typeOff + typeLen > bytes.length || hdrLen + strOff + strLen > bytes.length) {
    throw new Error(`BTF ${source}: sections run past the end of its ${bytes.length} bytes`);
  }
  return {
    types: new DataView(bytes.buffer, bytes.byteOffset + hdrLen + typeOff, typeLen),
    strings: bytes.subarray(hdrLen + strOff, hdrLen + strOff + strLen),
  };
}

/**
 * A parsed BTF: its types by id (1..), names, and lookups. Split BTF (a module's) extends a base.
 * Parsing only records where each type record starts and which types carry which name offset;
 * records are decoded when asked for (vmlinux has over 100000 types).
 */
export class Btf {
  private readonly offsets: number[] = [];
  private readonly decoded = new Map<number, BtfType>();
  private readonly byNameOffset = new Map<number, number[]>();
  private readonly typeSection: DataView;
  /** Number of the first type id of this BTF (1 for vmlinux; the base's count + 1 for split BTF). */
  readonly firstId: number;
  /** Total byte length of the string section, base included (split BTF string offsets start after it). */
  private readonly stringsLength: number;
  private readonly strings: Uint8Array;

  private constructor(
    readonly source: string,
    bytes: Uint8Array,
    private readonly base: Btf | undefined,
  ) {
    const { types, strings } = sections(bytes, source);
    this.typeSection = types;
    this.strings = strings;
    this.firstId = base === undefined ? 1 : base.firstId + base.offsets.length;
    this.stringsLength = (base?.stringsLength ?? 0) + strings.length;
    let at = 0;
    while (at < types.byteLength) {
      const id = this.firstId + this.offsets.length;
      if (at + 12 > types.byteLength) throw new Error(`BTF ${source}: type ${id}: truncated`);
      this.offsets.push(at);
      const nameOff = types.getUint32(at, true);
      if (nameOff !== 0) {
        const ids = this.byNameOffset.get(nameOff);
        if (ids === undefined) this.byNameOffset.set(nameOff, [id]);
        else ids.push(id);
      }
      at += this.recordSize(types, at, id);
    }
  }

  /** Parses a BTF blob; `base` is vmlinux's BTF when `bytes` is a module's split BTF. */
  static parse(bytes: Uint8Array, source: string, base?: Btf): Btf {
    return new Btf(source, bytes, base);
  }

  /** Reads and parses a BTF file (e.g. /sys/kernel/btf/vmlinux). */
  static load(path: string, base?: Btf): Btf {
    return Btf.parse(new Uint8Array(readFileSync(path)), path, base);
  }

  private string(offset: number): string {
    if (this.base !== undefined && offset < this.base.stringsLength) return this.base.string(offset);
    const local = offset - (this.base?.stringsLength ?? 0);
    if (local < 0 || local >= this.strings.length) throw new Error(`BTF ${this.source}: string offset ${offset} is outside the string section`);
    const end = this.strings.indexOf(0, local);
    return Buffer.from(this.strings.subarray(local, end < 0 ? this.strings.length : end)).toString("latin1");
  }

  /** The offsets (in this BTF's numbering) of the string `name` in this BTF's own string section. */
  private nameOffsets(name: string): number[] {
    const found: number[] = [];
    const needle = Buffer.from(`\0${name}\0`, "latin1");
    const haystack = Buffer.from(this.strings.buffer, this.strings.byteOffset, this.strings.byteLength);
    const shift = this.base?.stringsLength ?? 0;
    if (haystack.subarray(0, needle.length - 1).equals(needle.subarray(1))) found.push(shift);
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) found.push(shift + at + 1);
    return found;
  }

  /** Size of the record at `at` (12 bytes of header plus the kind's data). */
  private recordSize(view: DataView, at: number, id: number): number {
    const info = view.getUint32(at + 4, true);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    switch (kind) {
      case BTF_KIND.INT:
      case BTF_KIND.VAR:
      case BTF_KIND.DECL_TAG:
        return 16;
      case BTF_KIND.ARRAY:
        return 24;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
      case BTF_KIND.DATASEC:
      case BTF_KIND.ENUM64:
        return 12 + 12 * vlen;
      case BTF_KIND.ENUM:
      case BTF_KIND.FUNC_PROTO:
        return 12 + 8 * vlen;
      case BTF_KIND.PTR:
      case BTF_KIND.FWD:
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.FUNC:
      case BTF_KIND.FLOAT:
      case BTF_KIND.TYPE_TAG:
        return 12;
      default:
        throw new Error(`BTF ${this.source}: type ${id}: unknown kind ${kind}`);
    }
  }

  private decodeType(view: DataView, at: number, id: number): BtfType {
    const where = `BTF ${this.source}: type ${id}`;
    const nameOff = view.getUint32(at, true);
    const info = view.getUint32(at + 4, true);
    const sizeOrType = view.getUint32(at + 8, true);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kindFlag = (info >>> 31) !== 0;
    const body = at + 12;
    if (at + this.recordSize(view, at, id) > view.byteLength) throw new Error(`${where}: truncated`);
    const base = { id, kind, name: this.string(nameOff), sizeOrType };
    switch (kind) {
      case BTF_KIND.ARRAY:
        return { ...base, array: { type: view.getUint32(body, true), nelems: view.getUint32(body + 8, true) } };
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        const members = Array.from({ length: vlen }, (_, i): BtfMember => {
          const m = body + 12 * i;
          const offset = view.getUint32(m + 8, true);
          return {
            name: this.string(view.getUint32(m, true)),
            type: view.getUint32(m + 4, true),
            bitOffset: kindFlag ? offset & 0xffffff : offset,
            bitfieldSize: kindFlag ? offset >>> 24 : 0,
          };
        });
        return { ...base, members };
      }
      case BTF_KIND.ENUM: {
        const enumValues = Array.from({ length: vlen }, (_, i) => ({
          name: this.string(view.getUint32(body + 8 * i, true)),
          value: BigInt(kindFlag ? view.getInt32(body + 8 * i + 4, true) : view.getUint32(body + 8 * i + 4, true)),
        }));
        return { ...base, enumValues };
      }
      case BTF_KIND.ENUM64: {
        const enumValues = Array.from({ length: vlen }, (_, i) => {
          const lo = BigInt(view.getUint32(body + 12 * i + 4, true));
          const hi = BigInt(view.getUint32(body + 12 * i + 8, true));
          const raw = (hi << 32n) | lo;
          return { name: this.string(view.getUint32(body + 12 * i, true)), value: kindFlag ? BigInt.asIntN(64, raw) : raw };
        });
        return { ...base, enumValues };
      }
      default:
        return base;
    }
  }

  /** Number of type ids this BTF and its base define (the highest id). */
  get lastId(): number {
    return this.firstId + this.offsets.length - 1;
  }

  /** The type with that id (from the base when the id is the base's). */
  type(id: number): BtfType {
    if (id < this.firstId) {
      if (this.base === undefined) throw new Error(`BTF ${this.source}: type ${id} does not exist`);
      return this.base.type(id);
    }
    const known = this.decoded.get(id);
    if (known !== undefined) return known;
    const at = this.offsets[id - this.firstId];
    if (at === undefined) throw new Error(`BTF ${this.source}: type ${id} does not exist (last is ${this.lastId})`);
    const type = this.decodeType(this.typeSection, at, id);
    this.decoded.set(id, type);
    return type;
  }

  /** The id of the type named `name` of that kind defined in this BTF (not its base), or undefined. */
  find(kind: number, name: string): number | undefined {
    for (const offset of this.nameOffsets(name)) {
      const id = this.byNameOffset.get(offset)?.find((candidate) => this.kindOf(candidate) === kind);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  /** The kind of a type of this BTF, without decoding it. */
  private kindOf(id: number): number {
    return (this.typeSection.getUint32(this.offsets[id - this.firstId]! + 4, true) >>> 24) & 0x1f;
  }

  /** Like find(), but throws naming what is missing. */
  require(kind: number, name: string): number {
    const id = this.find(kind, name) ?? this.base?.find(kind, name);
    if (id === undefined) throw new Error(`BTF ${this.source}: no ${kindName(kind)} '${name}'`);
    return id;
  }

  /** Follows typedef, const, volatile, restrict and type tags to the type they name. */
  resolve(id: number): BtfType {
    let type = this.type(id);
    for (let hops = 0; hops < 32; hops++) {
      if (![BTF_KIND.TYPEDEF, BTF_KIND.VOLATILE, BTF_KIND.CONST, BTF_KIND.RESTRICT, BTF_KIND.TYPE_TAG].includes(type.kind as 8)) return type;
      type = this.type(type.sizeOrType);
    }
    throw new Error(`BTF ${this.source}: type ${id}: modifier chain too long`);
  }

  /** Size in bytes of a type (pointers are 8 bytes). */
  sizeOf(id: number): number {
    const type = this.resolve(id);
    switch (type.kind) {
      case BTF_KIND.PTR:
        return 8;
      case BTF_KIND.ARRAY:
        return type.array!.nelems * this.sizeOf(type.array!.type);
      case BTF_KIND.INT:
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
      case BTF_KIND.FLOAT:
        return type.sizeOrType;
      default:
        throw new Error(`BTF ${this.source}: type ${type.id} (${kindName(type.kind)} '${type.name}') has no size`);
    }
  }

  /**
   * Where member `path` ("len", "name", "a.b") lies in struct or union `structName`, looking into
   * anonymous struct and union members as C does. Throws for a bitfield or a missing member.
   */
  member(structName: string, path: string): MemberLocation {
    const structId = this.find(BTF_KIND.STRUCT, structName) ?? this.find(BTF_KIND.UNION, structName) ??
      this.base?.find(BTF_KIND.STRUCT, structName) ?? this.base?.find(BTF_KIND.UNION, structName);
    if (structId === undefined) throw new Error(`BTF ${this.source}: no struct '${structName}'`);
    let typeId = structId;
    let offset = 0;
    let size = this.sizeOf(structId);
    for (const name of path.split(".")) {
      const found = this.findMember(typeId, name);
      if (found === undefined) throw new Error(`BTF ${this.source}: struct '${structName}' has no member '${path}'`);
      if (found.bitfieldSize !== 0 || found.bitOffset % 8 !== 0) throw new Error(`BTF ${this.source}: ${structName}.${path} is a bitfield`);
      offset += found.bitOffset / 8;
      typeId = found.type;
      size = this.sizeOf(found.type);
    }
    return { offset, size };
  }

  /**
   * Where bitfield `member` of struct `structName` lies: the byte that holds its lowest bit, its
   * shift within that byte (bit offsets count from the least significant bit on the little-endian
   * kernels this runs on) and its width. Throws for a member that is not a bitfield within one byte.
   */
  bitfield(structName: string, member: string): { readonly offset: number; readonly shift: number; readonly bits: number } {
    const structId = this.find(BTF_KIND.STRUCT, structName) ?? this.base?.find(BTF_KIND.STRUCT, structName);
    if (structId === undefined) throw new Error(`BTF ${this.source}: no struct '${structName}'`);
    const found = this.findMember(structId, member);
    if (found === undefined) throw new Error(`BTF ${this.source}: struct '${structName}' has no member '${member}'`);
    if (found.bitfieldSize === 0) throw new Error(`BTF ${this.source}: ${structName}.${member} is not a bitfield`);
    const shift = found.bitOffset % 8;
    if (shift + found.bitfieldSize > 8) throw new Error(`BTF ${this.source}: ${structName}.${member} crosses a byte`);
    return { offset: Math.floor(found.bitOffset / 8), shift, bits: found.bitfieldSize };
  }

  /** A member by name in a struct/union, descending into anonymous members; offsets are from `typeId`. */
  private findMember(typeId: number, name: string): BtfMember | undefined {
    const type = this.resolve(typeId);
    for (const m of type.members ?? []) {
      if (m.name === name) return m;
      if (m.name === "") {
        const inner = this.findMember(m.type, name);
        if (inner !== undefined) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
      }
    }
    return undefined;
  }

  /** The value of enumerator `name` of enum `enumName` (or of any enum, when enumName is undefined). */
  enumValue(enumName: string | undefined, name: string): bigint {
    const candidates = enumName === undefined ? this.allTypes() : [this.type(this.require(BTF_KIND.ENUM, enumName))];
    for (const type of candidates) {
      const value = type.enumValues?.find((v) => v.name === name)?.value;
      if (value !== undefined) return value;
    }
    throw new Error(`BTF ${this.source}: no enumerator '${name}'${enumName === undefined ? "" : ` in enum '${enumName}'`}`);
  }

  private allTypes(): readonly BtfType[] {
    const own = this.offsets.map((_, i) => this.firstId + i).filter((id) => [BTF_KIND.ENUM, BTF_KIND.ENUM64].includes(this.kindOf(id) as 6));
    return [...(this.base?.allTypes() ?? []), ...own.map((id) => this.type(id))];
  }
}

/** The name of a BTF kind for messages ("struct", "func"). */
export function kindName(kind: number): string {
  const entry = Object.entries(BTF_KIND).find(([, value]) => value === kind);
  return entry === undefined ? `kind ${kind}` : entry[0].toLowerCase();
}

/** Where the running kernel publishes its BTF. */
export const KERNEL_BTF_DIR = "/sys/kernel/btf";

let vmlinux: Btf | undefined;

/** The running kernel's BTF (parsed once); throws saying that the kernel needs CONFIG_DEBUG_INFO_BTF. */
export function kernelBtf(): Btf {
  if (vmlinux !== undefined) return vmlinux;
  try {
    vmlinux = Btf.load(`${KERNEL_BTF_DIR}/vmlinux`);
  } catch (error) {
    throw new Error(`kernel BTF: ${(error as Error).message} (the kernel needs CONFIG_DEBUG_INFO_BTF)`);
  }
  return vmlinux;
}
