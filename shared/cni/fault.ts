import { appendFileSync } from "node:fs";

/**
 * Fault injection for crash-safety tests. Only executables built with `npm run build -- --test-hooks`
 * (dist/test-bin) contain it: the build replaces process.env.CNI_TS_TEST_HOOKS with a constant, so in
 * the production build the condition is the constant false and the bundler drops the body.
 * In a test build, CNI_TS_FAULT=<point> makes the process SIGKILL itself when it reaches that point
 * (CNI_TS_FAULT_LOG=<file> records every point passed, so tests can enumerate them).
 */
export function faultPoint(name: string): void {
  if (process.env.CNI_TS_TEST_HOOKS === "1") {
    const log = process.env.CNI_TS_FAULT_LOG;
    if (log) appendFileSync(log, `${name}\n`);
    if (process.env.CNI_TS_FAULT === name) process.kill(process.pid, "SIGKILL");
  }
}
