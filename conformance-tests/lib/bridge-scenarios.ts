/**
 * Bridge scenarios driven by a plugin config (bridge's tests only; the basic scenario is H1's).
 * Names, subnets and container ids come from the node's token, so twin runs agree.
 */
import type { CallOptions, CniOutcome } from "./cni-calls.js";
import { expectOk } from "./cni-calls.js";
import type { Pod, SandboxNode } from "./sandbox.js";
import type { Recorder } from "./twin.js";
import { clientFor, verbExists } from "./versions.js";

export interface BridgeNet {
  network: string;
  bridge: string;
  subnet: string;
  subnet6: string;
}

export function bridgeNet(node: SandboxNode): BridgeNet {
  return {
    network: node.uniqueName("bn-"),
    bridge: node.uniqueName("br"),
    subnet: node.subnet(),
    subnet6: node.subnet6(),
  };
}

export type Family = "v4" | "v6" | "dual" | "l2";

/** host-local IPAM for the families asked for ("l2": no IPAM at all). */
export function ipamFor(
  node: SandboxNode,
  net: BridgeNet,
  family: Family,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  if (family === "l2") return {};
  const ranges: unknown[] = [];
  if (family !== "v6") ranges.push([{ subnet: net.subnet }]);
  if (family !== "v4") ranges.push([{ subnet: net.subnet6 }]);
  return { type: "host-local", ranges, dataDir: node.dataDir, ...extra };
}

/** Writes a one-plugin conflist for bridge with `fields`; returns the network name. */
export function writeBridgeConf(
  node: SandboxNode,
  net: BridgeNet,
  cniVersion: string,
  family: Family,
  fields: Record<string, unknown> = {},
  ipamExtra: Record<string, unknown> = {},
): string {
  node.writeConflist({
    cniVersion,
    name: net.network,
    plugins: [{ type: "bridge", bridge: net.bridge, ipam: ipamFor(node, net, family, ipamExtra), ...fields }],
  });
  return net.network;
}

export interface FieldsScenario {
  cniVersion: string;
  family: Family;
  fields: Record<string, unknown>;
  ipamExtra?: Record<string, unknown>;
  pods?: number;
  /** Per-pod call options (CNI_ARGS, capability args). */
  callOpts?: (pod: Pod) => CallOptions;
}

/**
 * Waits (bounded) until the bridge's IPv6 addresses have left DAD, which the kernel finishes about
 * a second after the first port comes up, so that both sides of a twin run are captured settled.
 */
export async function bridgeDadSettled(node: SandboxNode, bridge: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await node.exec(["ip", "-6", "-j", "addr", "show", "dev", bridge, "tentative"], { check: false });
    const tentative = (JSON.parse(r.stdout.trim() || "[]") as { addr_info?: unknown[] }[]).flatMap(
      (l) => l.addr_info ?? [],
    );
    if (tentative.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${bridge} still has tentative IPv6 addresses after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** ADD every pod, CHECK each, DEL each, DEL again; the recorder captures state after every step. */
export async function runFieldsScenario(
  node: SandboxNode,
  s: FieldsScenario,
  record: Recorder = async () => {},
): Promise<CniOutcome[]> {
  const net = bridgeNet(node);
  const network = writeBridgeConf(node, net, s.cniVersion, s.family, s.fields, s.ipamExtra);
  const client = clientFor(node, s.cniVersion);
  const pods: Pod[] = [];
  for (let i = 0; i < (s.pods ?? 1); i++) pods.push(await node.addPod());
  const outcomes: CniOutcome[] = [];
  const opts = (p: Pod) => s.callOpts?.(p) ?? {};
  const gatewayV6 =
    (s.family === "v6" || s.family === "dual") && (s.fields.isGateway === true || s.fields.isDefaultGateway === true);
  for (const pod of pods) {
    const o = await client.add(network, pod, opts(pod));
    outcomes.push(o);
    if (o.ok && gatewayV6) await bridgeDadSettled(node, net.bridge);
    await record(`add-${pod.label}`, o);
    if (!o.ok) return outcomes;
  }
  if (verbExists(s.cniVersion, "CHECK")) {
    for (const pod of pods) {
      const o = await client.check(network, pod, opts(pod));
      outcomes.push(o);
      await record(`check-${pod.label}`, o);
    }
  }
  for (const pod of pods) {
    const o = await client.del(network, pod, opts(pod));
    outcomes.push(o);
    await record(`del-${pod.label}`, o);
    expectOk(o, `DEL ${pod.label}`);
  }
  const again = await client.del(network, pods[0]!, opts(pods[0]!));
  await record("del-again", again);
  expectOk(again, "second DEL");
  return outcomes;
}
