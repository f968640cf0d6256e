/** Whether the module at `moduleUrl` is the program (run directly or as its bundle), not imported by a test or another entry. */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** True when process.argv[1] is the module itself (bundles: each entry point is its own bundle). */
export function isProgram(moduleUrl: string): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
