/**
 * A named network namespace the harness created (`ip netns add`, mounted at /var/run/netns/NAME).
 * Everything the tests run or observe happens inside one of these; never in the root namespace.
 */
import { existsSync } from "node:fs";
import { TOOL_PATH } from "./paths.js";
import { type CommandOptions, type CommandResult, runCommand } from "./run-command.js";

export interface Netns {
  readonly name: string;
  readonly path: string;
}

export const NETNS_DIR = "/var/run/netns";

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

export async function createNetns(name: string): Promise<Netns> {
  if (netnsExists(name))
    throw new Error(`netns ${name} already exists: refusing to adopt a namespace this test did not create`);
  await runCommand(["ip", "netns", "add", name], { env: { PATH: TOOL_PATH } });
  return { name, path: netnsPath(name) };
}

/** Deletes exactly this namespace (idempotent). The kernel removes every link inside it. */
export async function deleteNetns(name: string): Promise<void> {
  if (!netnsExists(name)) return;
  const r = await runCommand(["ip", "netns", "delete", name], { env: { PATH: TOOL_PATH }, check: false });
  if (r.status !== 0 && netnsExists(name)) throw new Error(`cannot delete netns ${name}: ${r.stderr.trim()}`);
}

/**
 * Runs argv inside the namespace with `ip netns exec`, which also remounts /sys for it, so
 * /sys/class/net and /proc/sys/net show that namespace's view. env is the complete environment.
 */
export function execIn(ns: Netns, argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const env = { PATH: TOOL_PATH, LC_ALL: "C", ...opts.env };
  return runCommand(["ip", "netns", "exec", ns.name, ...argv], { ...opts, env });
}
