/** A bounds-checked little-endian (host order on x86_64) reader that names the field it failed on. */

/** A frame or struct that is too short, too long or has a bad field. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
}

/** Reads fields in order from a byte range; every read checks the bounds and names its field. */
export class ByteReader {
  private readonly view: DataView;
  private pos = 0;

  /** `what` names the struct being read, for error messages ("bpfilter_ipc_sockopt"). */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  private take(field: string, size: number): number {
    if (size > this.remaining) {
      throw new DecodeError(
        `${this.what}: field '${field}' at offset ${this.pos} needs ${size} bytes, only ${this.remaining} left`,
      );
    }
    const at = this.pos;
    this.pos += size;
    return at;
  }

  /** Reads a __u16. */
  u16(field: string): number {
    return this.view.getUint16(this.take(field, 2), true);
  }

  /** Reads a __u32. */
  u32(field: string): number {
    return this.view.getUint32(this.take(field, 4), true);
  }

  /** Reads a __s32. */
  s32(field: string): number {
    return this.view.getInt32(this.take(field, 4), true);
  }

  /** Reads a __u64. */
  u64(field: string): bigint {
    return this.view.getBigUint64(this.take(field, 8), true);
  }

  /** Reads `size` raw bytes (a view, not a copy). */
  bytesOf(field: string, size: number): Uint8Array {
    const at = this.take(field, size);
    return this.bytes.subarray(at, at + size);
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) {
      throw new DecodeError(`${this.what}: ${this.remaining} trailing bytes after the last field`);
    }
  }
}
