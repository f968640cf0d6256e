// BTF blobs for tests: a header over a type section and a string section.

/** The 24-byte BTF header followed by `types` and `strings` (magic 0xeb9f, version 1). */
export function btfBlob(types: Uint8Array, strings: Uint8Array): Uint8Array {
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2);
  header.writeUInt32LE(24, 4);
  header.writeUInt32LE(0, 8);
  header.writeUInt32LE(types.length, 12);
  header.writeUInt32LE(types.length, 16);
  header.writeUInt32LE(strings.length, 20);
  return new Uint8Array(Buffer.concat([header, types, strings]));
}
