import { readFileSync } from "node:fs";
import { sh } from "./cluster-exec.js";

/**
 * A read-only look at the machine's root network namespace: link names, IPv4 routes and the
 * forwarding sysctls a bridge plugin would flip. Compared before/after to prove a test that runs
 * a real runtime changed nothing there.
 */
export interface RootSnapshot {
  links: string[];
  routes: string[];
  sysctls: Record<string, string>;
}

const SYSCTLS = ["net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv6/conf/all/forwarding"];

export async function rootSnapshot(): Promise<RootSnapshot> {
  const links = JSON.parse((await sh(["ip", "-j", "link", "show"], { duringTeardown: true })).stdout) as { ifname: string }[];
  const routes = (await sh(["ip", "-4", "route", "show", "table", "all"], { duringTeardown: true })).stdout;
  const sysctls: Record<string, string> = {};
  for (const k of SYSCTLS) sysctls[k] = readFileSync(`/proc/sys/${k}`, "utf8").trim();
  return {
    links: links.map((l) => l.ifname).sort(),
    routes: routes.split("\n").filter(Boolean).sort(),
    sysctls,
  };
}

/** What appeared in the root namespace since `before` (links and routes) and any sysctl change. */
export function rootChanges(before: RootSnapshot, after: RootSnapshot): string[] {
  const out: string[] = [];
  for (const l of after.links) if (!before.links.includes(l)) out.push(`new link ${l}`);
  for (const r of after.routes) if (!before.routes.includes(r)) out.push(`new route ${r}`);
  for (const [k, v] of Object.entries(after.sysctls)) if (before.sysctls[k] !== v) out.push(`${k} ${before.sysctls[k]} -> ${v}`);
  return out;
}
