/**
 * node:child_process, loaded on first use: most plugin calls start no process at all, and
 * importing the module costs about 0.5 ms of every start (scripts/bench-lib/import-cost.ts).
 */
type ChildProcessModule = typeof import("node:child_process");
let mod: ChildProcessModule | undefined;

export function childProcess(): ChildProcessModule {
  mod ??= process.getBuiltinModule("node:child_process") as ChildProcessModule;
  return mod;
}
