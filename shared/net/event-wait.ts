/**
 * Waiting for a kernel event without sleeps where there is no netlink in this process (Node): an
 * `ip -o monitor` child, started before the condition is first checked and re-checked after each
 * event it prints. (Under Bun, kernel.ts's waitForKernel listens on a netlink socket instead.)
 */
import { readFileSync } from "node:fs";
import { childProcess } from "../sys/child-process.js";
import { systemTrace } from "../sys/trace-hook.js";
import { childEnv, countProcess } from "./process.js";

/**
 * Resolves once process `pid` holds a NETLINK_ROUTE socket bound to multicast groups (its row in
 * /proc/PID/net/netlink: protocol 0, port id = pid, groups != 0), or after `limitMs`.
 */
export async function subscribed(pid: number | undefined, limitMs: number): Promise<void> {
  if (pid === undefined) return;
  const until = performance.now() + limitMs;
  const mine = new RegExp(`^\\S+\\s+0\\s+${pid}\\s+([0-9a-f]+)\\s`, "m");
  while (performance.now() < until) {
    let table = "";
    try {
      table = readFileSync(`/proc/${pid}/net/netlink`, "utf8");
    } catch {
      return; // the monitor is gone; the caller's exit handler decides
    }
    const row = mine.exec(table);
    if (row && row[1] !== "00000000") return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Starts `ip -o monitor <objects>` (inside `netns` when given), then calls `ready()`; while it is
 * false, re-checks it after each event line until `timeoutMs` passes. Returns whether `ready()`
 * became true.
 */
export async function waitForEvent(
  objects: readonly string[],
  ready: () => boolean,
  opts: { netns?: string; timeoutMs: number },
): Promise<boolean> {
  const argv = ["ip", "-o", "monitor", ...objects];
  const full = opts.netns ? ["nsenter", `--net=${opts.netns}`, "--", ...argv] : argv;
  countProcess();
  const started = performance.now();
  const child = childProcess().spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "ignore"], env: childEnv() });
  try {
    await new Promise<void>((resolve) => {
      child.once("spawn", () => resolve());
      child.once("error", () => resolve());
    });
    // "spawn" only means the program started: an event before it joins the multicast groups would
    // be missed and the wait would last until the timeout. Wait for the subscription itself.
    await subscribed(child.pid, Math.min(opts.timeoutMs, 1000));
    if (ready()) return true;
    return await new Promise<boolean>((resolve) => {
      // Once settled, later events (the monitor's own exit when we stop it) must not call ready() again.
      let settled = false;
      const settle = (ok: boolean) => {
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      const timer = setTimeout(() => settle(ready()), opts.timeoutMs);
      child.stdout.on("data", () => {
        if (!settled && ready()) settle(true);
      });
      child.once("exit", () => {
        if (!settled) settle(ready());
      });
    });
  } finally {
    child.kill("SIGTERM");
    systemTrace()?.process(
      `${argv.join(" ")} (event wait)${opts.netns ? ` in ${opts.netns}` : ""}`,
      performance.now() - started,
      0,
    );
  }
}
