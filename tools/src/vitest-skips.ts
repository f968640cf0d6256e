/**
 * A vitest reporter that lists every skipped test with its reason, and, when
 * BPFILTER_SKIPS=strict (make unit, make vm-launcher-test), fails the run on a skip that
 * skips.ts refuses. A skipped test's reason is the note it passed to ctx.skip(note), else the
 * lines its file printed that say "skip" or carry the test's own name (a `describe.skipIf`
 * prints its cause once, at module level).
 */
import type { Reporter, TestCase, TestModule } from "vitest/node";
import { skipReport, type SkippedTest } from "./skips.ts";

interface Printed {
  readonly taskId: string | undefined;
  readonly content: string;
}

/** The reason of one skipped test, from its note or from what its file printed. */
export function skipReason(test: { name: string; note: string | undefined }, printed: readonly string[]): string | undefined {
  if (test.note) return test.note;
  const lines = printed.flatMap((p) => p.split("\n")).map((l) => l.trim());
  const said = lines.filter((l) => /\bskip/i.test(l) || (test.name.length > 0 && l.includes(test.name)));
  return said.length ? [...new Set(said)].join(" / ") : undefined;
}

/** Every task id of a module (the module, its suites, its tests), for matching printed lines. */
function taskIds(module: TestModule): Set<string> {
  const ids = new Set<string>([module.id]);
  for (const s of module.children.allSuites()) ids.add(s.id);
  for (const t of module.children.allTests()) ids.add(t.id);
  return ids;
}

export default class SkipReporter implements Reporter {
  private readonly printed: Printed[] = [];

  onUserConsoleLog(log: { taskId?: string; content: string }): void {
    this.printed.push({ taskId: log.taskId, content: log.content });
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: SkippedTest[] = [];
    let notRun = 0;
    for (const module of modules) {
      const ids = taskIds(module);
      const printed = this.printed.filter((p) => p.taskId !== undefined && ids.has(p.taskId)).map((p) => p.content);
      for (const test of module.children.allTests("skipped") as Iterable<TestCase>) {
        // A failed beforeAll leaves its tests skipped; that failure already fails the run.
        if (test.parent.state() === "failed") {
          notRun++;
          continue;
        }
        const result = test.result();
        const note = result.state === "skipped" ? result.note : undefined;
        skipped.push({ file: module.relativeModuleId, name: test.name, reason: skipReason({ name: test.name, note }, printed) });
      }
    }
    if (notRun) console.log(`skips: ${notRun} test(s) did not run because their file or suite failed (errors above)`);
    if (!skipped.length) {
      console.log("skips: no test was skipped");
      return;
    }
    const { lines, refused } = skipReport(skipped);
    console.log(`skips: ${skipped.length} test(s) skipped:`);
    for (const l of lines) console.log(`  ${l}`);
    if (refused.length && process.env.BPFILTER_SKIPS === "strict") {
      for (const r of refused) console.log(`skips: FAILED ${r}`);
      console.log("skips: a test skipped for a step this run should have done; the run fails (BPFILTER_SKIPS=strict)");
      process.exitCode = 1;
    }
  }
}
