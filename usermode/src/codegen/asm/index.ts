/** The BPF assembler: instruction builders, assemble(), disassemble() and the text parser. */
export * from "./opcode.ts";
export * from "./insn.ts";
export * from "./alu.ts";
export * from "./jump.ts";
export * from "./loadstore.ts";
export * from "./assemble.ts";
export * from "./disasm.ts";
export * from "./parse.ts";
export * from "./cfg.ts";
