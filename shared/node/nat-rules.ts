import { run } from "../net/exec.js";

/**
 * The nat table's rules that name a network and a container in their comment — bridge's
 * masquerade rules (`name: "N" id: "C"`) and portmap's hostPort rules (`dnat name: …`) — so doctor
 * and gc can find rules of containers that hold nothing on the node any more.
 */
export interface NatRule {
  network: string;
  containerId: string;
  kind: "masquerade" | "hostPort";
}

/** Rules whose comment names a network and a container: bridge's `name: "N" id: "C"`, portmap's `dnat name: …`. */
export function parseNatRules(save: string): NatRule[] {
  const out = new Map<string, NatRule>();
  for (const line of save.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const m = /--comment "(dnat )?name: \\"([^"\\]+)\\" id: \\"([^"\\]+)\\""/.exec(line);
    if (!m) continue;
    const rule: NatRule = { network: m[2]!, containerId: m[3]!, kind: m[1] ? "hostPort" : "masquerade" };
    out.set(`${rule.kind}\n${rule.network}\n${rule.containerId}`, rule);
  }
  return [...out.values()];
}

export function natTable(): string {
  try {
    const r = run(["iptables-save", "-t", "nat"], { check: false });
    return r.status === 0 ? r.stdout : "";
  } catch {
    return "";
  }
}
