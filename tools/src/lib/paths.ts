/** Where things live in the repository and its build/ directory. */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Everything generated goes below here; `make clean` removes it. */
export const BUILD = join(REPO, "build");
/** The pinned Node runtime that executes the helper. */
export const RUNTIME_DIR = join(BUILD, "runtime");
/** The kernel build: source tree, object tree, cache of finished images. */
export const KERNEL_SRC = join(BUILD, "linux");
export const KERNEL_OBJ = join(BUILD, "kernel-obj");
export const KERNEL_CACHE = join(BUILD, "kernel-cache");
/** The image that `make kernel` leaves for tools/vm (a copy of the cached one). */
export const KERNEL_IMAGE = join(BUILD, "kernel", "bzImage");
export const KERNEL_CONFIG_OUT = join(BUILD, "kernel", "config");
