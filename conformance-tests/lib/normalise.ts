/**
 * Makes observations of two twin sandboxes comparable: what legitimately differs between two runs
 * (random MACs and veth names, namespace paths, temp dirs, the per-run token and subnets) becomes
 * a placeholder; everything else stays byte for byte.
 */
import type { SandboxNode } from "./sandbox.js";

export interface Normaliser {
  (value: unknown): unknown;
  text(s: string): string;
}

const MAC = /\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/gi;
const RANDOM_VETH = /\bveth[0-9a-f]{8}\b/g;
/** IPv6 link-local addresses the kernel derives from a (random) MAC: EUI-64, "xxff:fexx" inside. */
const EUI64_LINK_LOCAL = /\bfe80::(?:[0-9a-f]{1,4}:)?[0-9a-f]{0,2}ff:fe[0-9a-f]{0,2}:[0-9a-f]{1,4}\b/gi;

/**
 * `renames` maps real link names to their role (from captureState), applied before the generic
 * rules. Strings are rewritten everywhere, object keys too (state maps are keyed by names).
 */
export type NormaliseContext = Pick<SandboxNode, "dir" | "pods" | "path" | "name" | "token" | "subnet" | "subnet6">;

export function normaliserFor(node: NormaliseContext, renames: ReadonlyMap<string, string> = new Map()): Normaliser {
  const literal: [string, string][] = [[node.dir, "<dir>"]];
  for (const p of node.pods) literal.push([p.path, `<netns:${p.label}>`], [p.name, `<netns-name:${p.label}>`]);
  literal.push([node.path, "<node-netns>"], [node.name, "<node-netns-name>"]);
  for (let i = 0; i < 4; i++) {
    const prefix = node.subnet(i).split(".").slice(0, 3).join(".");
    literal.push([`${prefix}.`, `<net${i}>.`]);
    const v6 = node.subnet6(i).replace(/::\/64$/, ":");
    literal.push([v6, `<net6-${i}>:`]);
  }
  literal.push([node.token, "<token>"]);
  // Longest first so a path is replaced before a name it contains.
  literal.sort((a, b) => b[0].length - a[0].length);

  const text = (s: string): string => {
    let out = renames.get(s) ?? s;
    for (const [from, to] of renames) out = out.split(from).join(to);
    for (const [from, to] of literal) out = out.split(from).join(to);
    return out.replace(EUI64_LINK_LOCAL, "fe80::<eui64>").replace(MAC, "<mac>").replace(RANDOM_VETH, "veth<?>");
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [text(k), walk(x)]));
    }
    return v;
  };
  const n = walk as Normaliser;
  n.text = text;
  return n;
}
