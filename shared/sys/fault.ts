/**
 * Fault injection for crash-safety tests. Only executables built with `npm run build -- --test-hooks`
 * (dist/test-bin) contain it: the build replaces process.env.CNI_TS_TEST_HOOKS with a constant, so in
 * the production build the condition is the constant false and the bundler drops the body.
 * In a test build, CNI_TS_FAULT=<point> makes the process SIGKILL itself when it reaches that point
 * (CNI_TS_FAULT_LOG=<file> records every point passed, so tests can enumerate them). A chain runs
 * several processes that pass the same point names; CNI_TS_FAULT_NTH=<n> (with the log) kills at the
 * n-th time the point is passed, counted across processes through the log. A trailing "*" makes
 * the point a prefix.
 */
import { appendFileSync, readFileSync } from "node:fs";

export function faultPoint(name: string): void {
  if (process.env.CNI_TS_TEST_HOOKS === "1") {
    const log = process.env.CNI_TS_FAULT_LOG;
    if (log) appendFileSync(log, `${name}\n`);
    const want = process.env.CNI_TS_FAULT;
    if (!want) return;
    // "prefix*" matches every point of that family (names that carry an address differ per pod).
    const matches = (n: string): boolean => (want.endsWith("*") ? n.startsWith(want.slice(0, -1)) : n === want);
    if (!matches(name)) return;
    const nth = Number(process.env.CNI_TS_FAULT_NTH || "1");
    if (nth > 1 && log && readFileSync(log, "utf8").split("\n").filter(matches).length !== nth) return;
    process.kill(process.pid, "SIGKILL");
  }
}
