// Captures what libbpf prints (libbpf_set_print) so that errors can carry it: for TC attach/detach this is
// where the kernel's netlink extack ("Kernel error message: ...") ends up. libbpf calls the print callback
// synchronously on the thread that made the failing call (the JS main thread), so koffi can run it inline.
// The va_list is formatted with libc's vsnprintf: on x86-64 a va_list argument is a pointer, which is what
// the callback prototype below declares (the helper only ships for x86-64).
import koffi from "koffi";
import { libbpf } from "./libbpf.ts";
import { libc } from "./libc.ts";

const libbpf_print_fn = koffi.proto("int libbpf_print_fn(int level, void *format, void *args)");
const libbpf_set_print = libbpf.func("void *libbpf_set_print(libbpf_print_fn *fn)");
const vsnprintf = libc.func("int vsnprintf(void *str, size_t size, void *format, void *args)");

/** libbpf's print levels (enum libbpf_print_level). */
export type LibbpfLevel = "warn" | "info" | "debug";

const levels: readonly LibbpfLevel[] = ["warn", "info", "debug"];
const maxPending = 32;
const pending: string[] = [];
let listener: ((level: LibbpfLevel, message: string) => void) | undefined;

function onPrint(level: number, format: unknown, args: unknown): number {
  const levelName = levels[level] ?? "debug";
  if (levelName === "debug") return 0;
  const text = Buffer.alloc(1024);
  vsnprintf(text, text.length, format, args);
  const end = text.indexOf(0);
  const message = text
    .toString("utf8", 0, end < 0 ? text.length : end)
    .replace(/^libbpf: /, "")
    .trimEnd();
  pending.push(message);
  if (pending.length > maxPending) pending.shift();
  listener?.(levelName, message);
  return 0;
}

libbpf_set_print(koffi.register(onPrint, koffi.pointer(libbpf_print_fn)));

/** Returns and forgets the warn/info lines libbpf printed since the last call. */
export function takeLibbpfMessages(): string[] {
  return pending.splice(0, pending.length);
}

/** Sets (or clears, with undefined) a function that also receives every warn/info line libbpf prints. */
export function setLibbpfLogger(fn: ((level: LibbpfLevel, message: string) => void) | undefined): void {
  listener = fn;
}
