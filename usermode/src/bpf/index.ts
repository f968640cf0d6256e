// The bpf layer: libbpf (through koffi) for loading, maps, test runs, XDP links, TC filters and pins.
export * from "./errors.ts";
export * from "./loader.ts";
export * from "./maps.ts";
export * from "./testrun.ts";
export * from "./links.ts";
export * from "./tc.ts";
export * from "./pin.ts";
export * from "./netns.ts";
export { setLibbpfLogger, type LibbpfLevel } from "./libbpf-log.ts";
