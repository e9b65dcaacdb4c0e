/**
 * The leak audit of a sandbox node after faults and recovery: given the attachments that are
 * supposed to exist, everything else in the node is a leak. Finds reservations without a pod,
 * pods without a reservation, veths, masquerade and portmap rules of gone pods, saved flannel
 * configs without a pod, half-written/temp/empty/world-writable state files, and duplicates.
 */
import { basename, join } from "node:path";
import { ifbName } from "../../plugins/bandwidth/tbf-params.js";
import type { Chain } from "./chains.js";
import { hygieneProblems, listState } from "./files.js";
import { execIn } from "../../conformance-tests/lib/netns.js";
import type { SandboxNode } from "../../conformance-tests/lib/sandbox.js";

export interface LiveAttachment {
  containerId: string;
  ifname: string;
  /** Addresses (no prefix) the ADD result gave. */
  ips: string[];
  network: string;
}

export interface Audit {
  leaks: string[];
  duplicates: string[];
}

const ID_CHARS = "[A-Za-z0-9_.-]";

/** Container ids (from the trial's own id space) mentioned in text. */
function mentionedIds(text: string, idPrefix: string): Set<string> {
  const re = new RegExp(`${idPrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${ID_CHARS}*`, "g");
  return new Set(text.match(re) ?? []);
}

function inSubnet24(ip: string, subnet: string): boolean {
  return ip.startsWith(subnet.replace(/0\/24$/, ""));
}

export async function auditNode(
  node: SandboxNode,
  chains: readonly Chain[],
  live: readonly LiveAttachment[],
  opts: { idPrefix: string; checkVeths?: boolean },
): Promise<Audit> {
  const leaks: string[] = [];
  const duplicates: string[] = [];
  const liveIds = new Set(live.map((a) => a.containerId));
  const liveIps = new Set(live.flatMap((a) => a.ips));

  // Duplicates among what the runtime believes it has.
  const seen = new Map<string, string>();
  for (const a of live) {
    for (const ip of a.ips) {
      const other = seen.get(ip);
      if (other) duplicates.push(`${ip} handed to both ${other} and ${a.containerId}/${a.ifname}`);
      seen.set(ip, `${a.containerId}/${a.ifname}`);
    }
  }

  // host-local stores: every reservation belongs to a live attachment, and every live one has its own.
  for (const chain of chains) {
    const dir = join(chain.ipamDataDir, chain.network);
    const owners = new Map<string, string>();
    for (const f of listState(dir)) {
      if (f.isDir) continue;
      const name = basename(f.path);
      if (name === "lock") continue;
      const text = f.content?.toString("utf8") ?? "";
      if (name.startsWith("last_reserved_ip.")) {
        if (!/^[0-9a-f.:]+$/.test(text)) leaks.push(`${f.path}: unreadable last_reserved_ip ${JSON.stringify(text)}`);
        continue;
      }
      if (name.startsWith(".")) continue; // reported by the hygiene check below
      const [cid, ifname] = text.split("\r\n");
      const owner = live.find((a) => a.containerId === cid && a.ifname === ifname && a.network === chain.network);
      if (!owner) leaks.push(`reservation ${chain.network}/${name} held by ${JSON.stringify(text)}, which has no pod`);
      else if (!owner.ips.includes(name))
        leaks.push(
          `reservation ${chain.network}/${name} of ${cid} is not the address its ADD returned (${owner.ips.join(",")})`,
        );
      const key = `${cid}/${ifname}`;
      if (owners.has(key) && inSameFamily(owners.get(key)!, name))
        duplicates.push(`${key} holds two reservations: ${owners.get(key)} and ${name}`);
      owners.set(key, name);
    }
    for (const a of live.filter((l) => l.network === chain.network)) {
      for (const ip of a.ips)
        if (!owners.has(`${a.containerId}/${a.ifname}`))
          leaks.push(`live pod ${a.containerId} has no reservation for ${ip}`);
    }
    if (chain.flannelDataDir) {
      for (const f of listState(chain.flannelDataDir)) {
        if (f.isDir) continue;
        const name = basename(f.path);
        if (name.startsWith(".")) continue;
        const cid = name.split("@")[0]!;
        if (!liveIds.has(cid)) leaks.push(`saved flannel config ${name} without a pod`);
        else {
          try {
            JSON.parse(f.content?.toString("utf8") ?? "");
          } catch {
            leaks.push(`saved flannel config ${name} is not valid JSON (half-written?)`);
          }
        }
      }
    }
  }

  // Half-written, temp, empty or world-writable state anywhere under the node's data dir.
  leaks.push(...hygieneProblems(listState(node.dataDir)));

  // Links: one host veth per live attachment (checked while the pods' namespaces still exist).
  if (opts.checkVeths !== false) {
    const veths = await vethsSettled(node, live.length);
    if (veths.length !== live.length) {
      leaks.push(
        `${veths.length} veths in the node for ${live.length} live attachments: ${veths.map((l) => l.split(":")[1]?.trim()).join(", ")}`,
      );
    }
  }

  // Shaping: every ifb belongs to a live attachment of a chain with bandwidth; qdiscs sit only on
  // veths (counted above) and those ifbs.
  const shaped = new Set(
    live
      .filter((a) => chains.some((c) => c.network === a.network && c.plugins.some((p) => p.type === "bandwidth")))
      .map((a) => ifbName(a.network, a.containerId)),
  );
  const ifbs = JSON.parse((await execIn(node, ["ip", "-j", "link", "show", "type", "ifb"])).stdout || "[]") as Array<{
    ifname: string;
  }>;
  for (const l of ifbs) if (!shaped.has(l.ifname)) leaks.push(`ifb ${l.ifname} without a live shaped pod`);
  const qdiscs = JSON.parse((await execIn(node, ["tc", "-j", "qdisc", "show"])).stdout || "[]") as Array<{
    kind: string;
    dev: string;
  }>;
  const veths = new Set(
    (
      JSON.parse((await execIn(node, ["ip", "-j", "link", "show", "type", "veth"])).stdout || "[]") as Array<{
        ifname: string;
      }>
    ).map((l) => l.ifname),
  );
  for (const q of qdiscs) {
    if (["tbf", "ingress"].includes(q.kind) && !veths.has(q.dev) && !shaped.has(q.dev))
      leaks.push(`${q.kind} qdisc on ${q.dev}, which is no pod's veth or ifb`);
  }

  // Firewall: no rule may name a gone container or a pod address nobody holds.
  const rules = [
    (await execIn(node, ["iptables-save"], { check: false })).stdout,
    (await execIn(node, ["ip6tables-save"], { check: false })).stdout,
    (await execIn(node, ["nft", "list", "ruleset"], { check: false })).stdout,
  ].join("\n");
  for (const id of mentionedIds(rules, opts.idPrefix)) {
    if (!liveIds.has(id)) leaks.push(`firewall rules still name container ${id}`);
  }
  for (const m of rules.matchAll(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(\/\d{1,2})?/g)) {
    const ip = m[1]!;
    if (m[2] && m[2] !== "/32") continue;
    const chain = chains.find((c) => inSubnet24(ip, c.subnet));
    if (!chain || ip === chain.gateway || ip.endsWith(".0") || ip.endsWith(".255")) continue;
    if (!liveIps.has(ip))
      leaks.push(`firewall rule for ${ip}, which no live pod holds: ${lineOf(rules, m.index ?? 0)}`);
  }
  return { leaks: [...new Set(leaks)], duplicates };
}

/**
 * The node's veths. The kernel removes the host end of a pair asynchronously after the pod's
 * namespace is deleted, so a count above `expected` is re-read for a short while before it counts.
 */
async function vethsSettled(node: SandboxNode, expected: number): Promise<string[]> {
  const deadline = Date.now() + 10_000; // netns cleanup is a kernel work queue: slow on a busy machine
  for (;;) {
    const r = await execIn(node, ["ip", "-o", "link", "show", "type", "veth"]);
    const veths = r.stdout.split("\n").filter((l) => l.trim() !== "");
    if (veths.length <= expected || Date.now() > deadline) return veths;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function inSameFamily(a: string, b: string): boolean {
  return a.includes(":") === b.includes(":");
}

function lineOf(text: string, index: number): string {
  const start = text.lastIndexOf("\n", index) + 1;
  const end = text.indexOf("\n", index);
  return text
    .slice(start, end < 0 ? undefined : end)
    .trim()
    .slice(0, 160);
}
