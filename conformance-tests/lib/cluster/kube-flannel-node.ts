/**
 * The kube-flannel chain (flannel -> bridge -> host-local, then portmap) on a sandboxed node, for
 * the tests that check an installation rather than a plugin: release executables, the image's
 * installer, kube-flannel's restart. cniVersion 1.0.0 so libcni also runs CHECK; subnetFile,
 * dataDir, ipam.dataDir and the bridge name point into the sandbox (see flannel.test.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { type CallOptions, expectOk } from "../cni-calls.js";
import { cidrsOf } from "../observe.js";
import type { Pod, SandboxNode } from "../sandbox.js";

export const KUBE_FLANNEL_NETWORK = "cbr0";
const subnetEnv = (ipMasq: boolean) =>
  `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=${ipMasq}\n`;

/** subnet.env and kube-flannel's conflist; `flannelIpMasq: false` makes flannel ask bridge to masquerade. */
export function writeKubeFlannelConflist(
  node: SandboxNode,
  opts: { cniVersion?: string; flannelIpMasq?: boolean } = {},
): void {
  const runDir = join(node.dir, "run-flannel");
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "subnet.env"), subnetEnv(opts.flannelIpMasq ?? true));
  node.writeConflist({
    name: KUBE_FLANNEL_NETWORK,
    cniVersion: opts.cniVersion ?? "1.0.0",
    plugins: [
      {
        type: "flannel",
        delegate: { hairpinMode: true, isDefaultGateway: true, bridge: node.uniqueName("cni") },
        subnetFile: join(runDir, "subnet.env"),
        dataDir: join(node.dataDir, "flannel"),
        ipam: { dataDir: join(node.dataDir, "networks") },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  });
}

/** ADD (the pod gets 10.244.1.x/24), CHECK, DEL (the address and the reservation are gone). */
export async function kubeFlannelAddCheckDel(node: SandboxNode, pod: Pod, opts: CallOptions = {}): Promise<void> {
  expectOk(await node.cnitool("add", KUBE_FLANNEL_NETWORK, pod, opts), `ADD ${pod.label}`);
  const [cidr] = await cidrsOf(pod, "eth0");
  expect(cidr).toMatch(/^10\.244\.1\.\d+\/24$/);
  const reservation = join(node.dataDir, "networks", KUBE_FLANNEL_NETWORK, cidr!.split("/")[0]!);
  expect(readFileSync(reservation, "utf8").split("\r\n")).toEqual([pod.containerId, "eth0"]);
  expectOk(await node.cnitool("check", KUBE_FLANNEL_NETWORK, pod, opts), `CHECK ${pod.label}`);
  expectOk(await node.cnitool("del", KUBE_FLANNEL_NETWORK, pod, opts), `DEL ${pod.label}`);
  expect(await cidrsOf(pod, "eth0").catch(() => [])).toEqual([]);
  expect(() => readFileSync(reservation)).toThrow(/ENOENT/);
}
