// The bpf layer: libbpf (through koffi) and bpf(2) for loading, maps, test runs, netfilter links, pins and BTF.
export * from "./errors.ts";
export * from "./loader.ts";
export * from "./maps.ts";
export * from "./testrun.ts";
export * from "./links.ts";
export * from "./nf_link.ts";
export * from "./btf.ts";
export * from "./kfunc.ts";
export * from "./nf_context.ts";
export * from "./kernel_hz.ts";
export { synchronizeRcu } from "./syscall.ts";
export * from "./pin.ts";
export * from "./netns.ts";
export { setLibbpfLogger, type LibbpfLevel } from "./libbpf-log.ts";
