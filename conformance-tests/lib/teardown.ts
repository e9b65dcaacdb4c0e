/**
 * Removal of exactly the resources one sandbox created, and the proof that nothing is left.
 * Never deletes by pattern: other test runs share the machine.
 */
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { deleteNetns, netnsExists, netnsPath } from "./netns.js";
import { TOOL_PATH } from "./paths.js";
import { runCommand } from "./run-command.js";

export interface Resources {
  /** Namespace names, pods first then the node (deleting a netns deletes its links). */
  netns: readonly string[];
  dir: string;
  /** Names that only this test uses; none may exist as a link in the root netns. */
  uniqueNames: readonly string[];
  rootSysctlsAtStart: Record<string, string>;
  readRootSysctls: () => Record<string, string>;
}

export class LeakError extends Error {
  constructor(readonly leftovers: string[]) {
    super(`sandbox teardown found leftovers:\n- ${leftovers.join("\n- ")}`);
    this.name = "LeakError";
  }
}

export async function teardownResources(res: Resources): Promise<void> {
  const problems: string[] = [];
  for (const name of res.netns) {
    await deleteNetns(name).catch((e: Error) => problems.push(e.message));
  }
  rmSync(res.dir, { recursive: true, force: true });
  problems.push(...(await findLeftovers(res)));
  if (problems.length > 0) throw new LeakError(problems);
}

/** What remains of a sandbox after teardown (empty list = clean). */
export async function findLeftovers(res: Resources): Promise<string[]> {
  const left: string[] = [];
  for (const name of res.netns) if (netnsExists(name)) left.push(`network namespace ${netnsPath(name)}`);
  if (existsSync(res.dir)) left.push(`directory ${res.dir}`);
  if (res.uniqueNames.length > 0) {
    const r = await runCommand(["ip", "-j", "link", "show"], { env: { PATH: TOOL_PATH } });
    const rootLinks = new Set((JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname));
    for (const n of res.uniqueNames) if (rootLinks.has(n)) left.push(`link ${n} in the ROOT network namespace`);
  }
  const now = res.readRootSysctls();
  for (const [key, before] of Object.entries(res.rootSysctlsAtStart)) {
    if (now[key] !== before)
      left.push(`root netns sysctl ${key} changed from ${before} to ${now[key]} while this test ran`);
  }
  return left;
}

/** Sandboxes not yet torn down: removed synchronously if the worker exits early (crash, timeout). */
interface LiveSandbox {
  readonly dir: string;
  readonly name: string;
  readonly pods: readonly { name: string }[];
}
const live = new Set<LiveSandbox>();
let exitHookInstalled = false;

export function registerLive(s: LiveSandbox): void {
  live.add(s);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", emergencyCleanup);
  }
}

export function forgetLive(s: LiveSandbox): void {
  live.delete(s);
}

function emergencyCleanup(): void {
  for (const s of live) {
    for (const name of [...s.pods.map((p) => p.name), s.name]) {
      if (netnsExists(name)) spawnSync("ip", ["netns", "delete", name], { env: { PATH: TOOL_PATH } });
    }
    rmSync(s.dir, { recursive: true, force: true });
  }
  live.clear();
}
