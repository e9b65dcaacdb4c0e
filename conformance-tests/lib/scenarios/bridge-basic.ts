/**
 * The basic bridge + host-local scenario, shared by the reference run (harness.test.ts) and ours
 * (bridge-basic.test.ts): ADD one pod, check what the pod and the node look like, CHECK, DEL,
 * DEL again. Assertions are the reference plugins' observable behaviour.
 */
import { expect } from "vitest";
import { type CniOutcome, expectOk } from "../cni-calls.js";
import { cidrsOf, link, links, routes, sysctl } from "../observe.js";
import type { Pod, SandboxNode } from "../sandbox.js";
import { clientFor, verbExists } from "../versions.js";

export interface BridgeBasicNames {
  network: string;
  bridge: string;
  subnet: string;
  /** ".1" of the subnet: the bridge's address (isGateway). */
  gateway: string;
  /** ".2": host-local's first allocation (the gateway is reserved). */
  firstIp: string;
}

export function bridgeBasicNames(node: SandboxNode): BridgeBasicNames {
  const subnet = node.subnet();
  const base = subnet.split(".").slice(0, 3).join(".");
  return {
    network: node.uniqueName("net-"),
    bridge: node.uniqueName("cb"),
    subnet,
    gateway: `${base}.1`,
    firstIp: `${base}.2`,
  };
}

export function bridgeBasicConflist(node: SandboxNode, cniVersion: string, names = bridgeBasicNames(node)) {
  return {
    cniVersion,
    name: names.network,
    plugins: [
      {
        type: "bridge",
        bridge: names.bridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: names.subnet }]],
          dataDir: node.dataDir,
        },
      },
    ],
  };
}

/** Called after each step with the step name, so a twin run can capture state at the same points. */
export type StepHook = (step: string, outcome: CniOutcome | undefined) => Promise<void>;

export async function runBridgeBasic(
  node: SandboxNode,
  cniVersion: string,
  onStep: StepHook = async () => {},
): Promise<void> {
  const names = bridgeBasicNames(node);
  node.writeConflist(bridgeBasicConflist(node, cniVersion, names));
  const client = clientFor(node, cniVersion);
  const pod = await node.addPod("a");

  const added = await client.add(names.network, pod);
  const result = expectOk(added, `ADD (${client.kind}, ${cniVersion})`) as Record<string, unknown>;
  await onStep("add", added);
  expectBridgeBasicResult(result, names, pod, cniVersion);
  await expectPodAttached(node, pod, names);

  if (verbExists(cniVersion, "CHECK")) {
    const checked = await client.check(names.network, pod);
    expectOk(checked, `CHECK (${client.kind}, ${cniVersion})`);
    await onStep("check", checked);
  }

  const deleted = await client.del(names.network, pod);
  expectOk(deleted, `DEL (${client.kind}, ${cniVersion})`);
  await onStep("del", deleted);
  await expectPodDetached(node, pod, names);

  const again = await client.del(names.network, pod);
  expectOk(again, `second DEL (${client.kind}, ${cniVersion})`);
  await onStep("del-again", again);
}

export function expectBridgeBasicResult(
  result: Record<string, unknown>,
  names: BridgeBasicNames,
  pod: Pod,
  cniVersion: string,
): void {
  expect(result.cniVersion).toBe(cniVersion);
  const interfaces = result.interfaces as { name: string; mac: string; sandbox?: string }[];
  expect(interfaces.map((i) => i.name)).toEqual([names.bridge, expect.stringMatching(/^veth/), "eth0"]);
  expect(interfaces[2]!.sandbox).toBe(pod.path);
  for (const i of interfaces) expect(i.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  const ip: Record<string, unknown> = { interface: 2, address: `${names.firstIp}/24`, gateway: names.gateway };
  if (cniVersion === "0.3.1" || cniVersion === "0.4.0") ip.version = "4";
  expect(result.ips).toEqual([ip]);
}

export async function expectPodAttached(node: SandboxNode, pod: Pod, names: BridgeBasicNames): Promise<void> {
  const eth0 = await link(pod, "eth0");
  expect(eth0, "eth0 in the pod").toBeDefined();
  expect(eth0!.flags).toContain("UP");
  expect(await cidrsOf(pod, "eth0")).toEqual([`${names.firstIp}/24`]);
  const podRoutes = (await routes(pod)).map((r) => `${r.dst} ${r.gateway ?? ""} ${r.dev}`.replace(/ +/g, " "));
  expect(podRoutes).toEqual([`${names.subnet} eth0`]);

  expect(await cidrsOf(node, names.bridge)).toEqual([`${names.gateway}/24`]);
  const nodeLinks = await links(node);
  const bridge = nodeLinks.find((l) => l.ifname === names.bridge);
  expect(bridge?.linkinfo?.info_kind).toBe("bridge");
  const ports = nodeLinks.filter((l) => l.master === names.bridge);
  expect(ports).toHaveLength(1);
  expect(ports[0]!.linkinfo?.info_kind).toBe("veth");
  expect(await sysctl(node, "net.ipv4.ip_forward")).toBe("1");
}

export async function expectPodDetached(node: SandboxNode, pod: Pod, names: BridgeBasicNames): Promise<void> {
  expect(await link(pod, "eth0"), "eth0 left in the pod after DEL").toBeUndefined();
  const ports = (await links(node)).filter((l) => l.master === names.bridge);
  expect(ports, "bridge ports left after DEL").toEqual([]);
  // The reference never deletes the bridge (it may be shared); it keeps its address.
  expect(await cidrsOf(node, names.bridge)).toEqual([`${names.gateway}/24`]);
}
