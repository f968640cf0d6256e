/**
 * make helper: the helper as the kernel runs it. esbuild bundles usermode/src/main.ts into one
 * file; koffi's native module sits beside it (only the linux_x64 build); a small executable
 * runs the pinned Node runtime on the bundle. The kernel starts that executable by path. Beside
 * it, the same way: `bpfilter` (usermode/src/cli/main.ts), the status and dump command.
 */
import { build } from "esbuild";
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILD, REPO } from "./lib/paths.ts";
import { toolMain, ToolError } from "./lib/proc.ts";
import { runtimeNode } from "./setup.ts";

/** Where the helper lands. */
export const HELPER_DIR = join(BUILD, "helper");
export const HELPER_EXE = join(HELPER_DIR, "bpfilter-helper");
const BUNDLE = join(HELPER_DIR, "bpfilter-helper.mjs");
/** bpfilter status / dump. */
export const CLI_EXE = join(HELPER_DIR, "bpfilter");
const CLI_BUNDLE = join(HELPER_DIR, "bpfilter.mjs");

/** Bundles one entry point into one ESM file (koffi stays external, beside it). */
async function bundle(entry: string, outfile: string, banner: string): Promise<void> {
  const result = await build({
    entryPoints: [join(REPO, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["koffi"],
    sourcemap: "inline",
    logLevel: "error",
    banner: { js: banner },
  });
  if (result.errors.length) throw new ToolError(`esbuild failed on ${entry} with ${result.errors.length} error(s)`);
}

function copyKoffi(): void {
  const src = join(REPO, "node_modules", "koffi");
  const dst = join(HELPER_DIR, "node_modules", "koffi");
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(join(dst, "build", "koffi"), { recursive: true });
  for (const f of ["package.json", "index.js", "indirect.js", "LICENSE.txt"]) {
    if (existsSync(join(src, f))) cpSync(join(src, f), join(dst, f));
  }
  const native = join(src, "build", "koffi", "linux_x64");
  if (!existsSync(native)) throw new ToolError(`koffi has no linux_x64 build at ${native}: run make setup`);
  cpSync(native, join(dst, "build", "koffi", "linux_x64"), { recursive: true });
}

await toolMain("helper", async () => {
  if (!existsSync(runtimeNode())) throw new ToolError(`the pinned runtime ${runtimeNode()} is missing: run make setup`);
  mkdirSync(HELPER_DIR, { recursive: true });
  await bundle("usermode/src/main.ts", BUNDLE, "// bpfilter user-mode helper, bundled by make helper; source in usermode/src/");
  await bundle("usermode/src/cli/main.ts", CLI_BUNDLE, "// bpfilter status/dump, bundled by make helper; source in usermode/src/cli/");
  copyKoffi();
  writeFileSync(
    HELPER_EXE,
    `#!/bin/sh
# bpfilter user-mode helper: the pinned Node runtime on the bundle. The kernel
# runs it with no arguments and no stderr, and speaks the frame protocol on
# stdin/stdout; the helper's log (declines, verifier errors) goes to the
# kernel log then.
if [ $# -eq 0 ]; then
	set -- --stdio
	[ -w /dev/kmsg ] && exec 2>/dev/kmsg
fi
exec ${runtimeNode()} --enable-source-maps ${BUNDLE} "$@"
`,
  );
  chmodSync(HELPER_EXE, 0o755);
  writeFileSync(
    CLI_EXE,
    `#!/bin/sh
# bpfilter status|dump: what the helper enforces, from its state directory and pins.
exec ${runtimeNode()} --enable-source-maps ${CLI_BUNDLE} "$@"
`,
  );
  chmodSync(CLI_EXE, 0o755);
  console.log(`helper: ${HELPER_EXE.replace(REPO + "/", "")} (bundle + koffi linux_x64 + ${runtimeNode().replace(REPO + "/", "")}), ${CLI_EXE.replace(REPO + "/", "")}`);
  return 0;
});
