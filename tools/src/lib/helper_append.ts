/** The kernel parameters with which a guest runs this checkout's helper (make vm-test, make vm-replays). */
import { join } from "node:path";
import { REPO } from "./paths.ts";

/**
 * The kernel parameters that make a patched kernel start this checkout's helper (others ignore
 * them), with timeouts for TCG: Node's cold start there once took 14 s, past the 10 s default.
 */
export function helperAppend(): string[] {
  const helper = join(REPO, "build/helper/bpfilter-helper");
  return ["--append", `bpfilter.helper=${helper} bpfilter.hello_timeout_ms=60000 bpfilter.timeout_ms=30000`];
}
