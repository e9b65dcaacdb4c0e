import type { Netns } from "./netns.js";
import { execIn } from "./netns.js";

/**
 * A namespace's observable network state, normalized so two readings of an untouched namespace
 * are equal: links (without counters), addresses, routes, iptables and nftables rules.
 */
export async function netnsState(ns: Netns): Promise<string> {
  const parts: string[] = [];
  const ip = async (args: string[]): Promise<string> => (await execIn(ns, ["ip", ...args], { check: false })).stdout;
  parts.push(normalizeLinks(await ip(["-o", "-d", "link", "show"])));
  parts.push(await ip(["-o", "addr", "show"]));
  parts.push(await ip(["-4", "route", "show", "table", "all"]));
  parts.push(await ip(["-6", "route", "show", "table", "all"]));
  parts.push(stripCounters((await execIn(ns, ["iptables-save"], { check: false })).stdout));
  parts.push(stripCounters((await execIn(ns, ["ip6tables-save"], { check: false })).stdout));
  parts.push((await execIn(ns, ["nft", "list", "ruleset"], { check: false })).stdout);
  return parts.join("\n--\n");
}

function normalizeLinks(text: string): string {
  // operstate/carrier of a fresh veth may flap; the set of links and their config is what matters.
  return text.replace(/ state \S+/g, "").replace(/ (qlen|alias) \S+/g, "");
}

function stripCounters(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/g, "[0:0]"))
    .join("\n");
}

/** Line-level difference of two state readings, for a readable failure. */
export function diffState(before: string, after: string): string[] {
  const a = new Set(before.split("\n"));
  const b = new Set(after.split("\n"));
  return [...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`), ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`)];
}
