/**
 * Traffic checks between sandbox namespaces only. The address must belong to a namespace the
 * test created (a pod, or the node's bridge); the caller guarantees that by passing addresses
 * it read from the sandbox, never constants from the outside world.
 */
import { type Netns, execIn } from "./netns.js";

export interface PingOutcome {
  ok: boolean;
  output: string;
}

export async function ping(
  from: Netns,
  address: string,
  opts: { count?: number; waitSeconds?: number } = {},
): Promise<PingOutcome> {
  const v6 = address.includes(":");
  const argv = [
    "ping",
    v6 ? "-6" : "-4",
    "-n",
    "-q",
    "-c",
    String(opts.count ?? 1),
    "-W",
    String(opts.waitSeconds ?? 2),
    address,
  ];
  const r = await execIn(from, argv, { check: false, timeoutMs: 30_000 });
  return { ok: r.status === 0, output: (r.stdout + r.stderr).trim() };
}

/** Whether `from` reaches `address` (CIDR or plain address) with one ping. */
export async function connectivity(from: Netns, address: string): Promise<boolean> {
  return (await ping(from, stripPrefix(address))).ok;
}

/** Throws with ping's output unless `from` reaches `address` (address without prefix length). */
export async function expectReachable(from: Netns, address: string): Promise<void> {
  const r = await ping(from, stripPrefix(address));
  if (!r.ok) throw new Error(`${from.name} cannot reach ${address}:\n${r.output}`);
}

export async function expectUnreachable(from: Netns, address: string): Promise<void> {
  const r = await ping(from, stripPrefix(address), { waitSeconds: 1 });
  if (r.ok) throw new Error(`${from.name} unexpectedly reaches ${address}:\n${r.output}`);
}

export function stripPrefix(cidr: string): string {
  return cidr.split("/")[0]!;
}
