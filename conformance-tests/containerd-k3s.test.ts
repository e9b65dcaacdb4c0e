/**
 * containerd 1.6's CRI as the runtime (what a k3s node runs, minus kubelet): a pod sandbox with
 * the kubernetes.io/ingress-bandwidth and egress-bandwidth annotations and a hostPort, through
 * k3s's conflist (flannel with forceAddress + portmap + bandwidth) and our executables as CRI's
 * bin_dir. containerd turns the annotations into runtimeConfig.bandwidth itself; the tbf rates on
 * the node show they arrived. Stopping the sandbox runs DEL, removing it runs DEL again without a
 * netns; nothing may be left.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ifbName } from "../plugins/bandwidth/tbf-params.js";
import { type Containerd, startContainerd } from "./lib/runtimes/containerd.js";
import { OURS_BIN, requireOursBuilt } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { K3S_NETWORK, k3sSandboxConflist, shapingLeftovers } from "./lib/suites/bandwidth.js";

const sandbox = useSandbox();

const NETWORK = K3S_NETWORK;

function k8sCgroups(): Set<string> {
  const root = "/sys/fs/cgroup";
  const out = new Set<string>();
  for (const h of existsSync(root) ? readdirSync(root) : [])
    if (existsSync(join(root, h, "k8s.io"))) out.add(join(root, h, "k8s.io"));
  return out;
}

interface TraceLine {
  plugin: string;
  verb: string;
  containerId: string;
  netns: string;
  error?: unknown;
}

describe("containerd CRI with k3s's conflist", () => {
  it(
    "a pod with the bandwidth annotations is shaped as annotated; stop and remove leave nothing",
    { timeout: 180_000 },
    async () => {
      requireOursBuilt();
      const node = await sandbox.node({ impl: "ours", cniPath: [OURS_BIN] });
      const confDir = join(node.dir, "cri-net.d");
      mkdirSync(confDir);
      writeFileSync(join(confDir, "10-flannel.conflist"), JSON.stringify(k3sSandboxConflist(node).conflist));
      const trace = join(node.workDir, "cni-trace.log");
      let ctr: Containerd | undefined;
      let id: string | undefined;
      const netnsBefore = new Set(readdirSync("/var/run/netns"));
      const cgroupsBefore = k8sCgroups();
      try {
        ctr = await startContainerd(node, OURS_BIN, confDir, { CNI_TS_DEBUG_LOG: trace });
        id = await ctr.cri.runPodSandbox({
          name: `bw-${node.token}`,
          uid: `uid-${node.token}`,
          namespace: "default",
          annotations: { "kubernetes.io/ingress-bandwidth": "10M", "kubernetes.io/egress-bandwidth": "5M" },
          portMappings: [{ containerPort: 8080, hostPort: 18080 }],
        });
        const ifb = ifbName(NETWORK, id);
        const qdiscs = JSON.parse((await node.exec(["tc", "-j", "qdisc", "show"])).stdout) as Array<{
          kind: string;
          dev: string;
          options?: { rate?: number };
        }>;
        const tbf = (pred: (dev: string) => boolean) =>
          qdiscs.find((q) => q.kind === "tbf" && pred(q.dev))?.options?.rate;
        expect(
          tbf((d) => d === ifb),
          "egress tbf on the ifb, 5M = 625000 B/s",
        ).toBe(625_000);
        expect(
          tbf((d) => d.startsWith("veth")),
          "ingress tbf on the veth, 10M = 1250000 B/s",
        ).toBe(1_250_000);
        expect((await node.exec(["iptables-save", "-t", "nat"])).stdout).toContain(id);

        await ctr.cri.stopPodSandbox(id);
        await ctr.cri.removePodSandbox(id);
        expect(await shapingLeftovers(node)).toEqual([]);
        expect((await node.exec(["iptables-save", "-t", "nat"])).stdout).not.toContain(id);

        const calls = readFileSync(trace, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as TraceLine);
        const bw = calls.filter((c) => c.plugin === "bandwidth" && c.containerId === id);
        expect(bw.map((c) => c.verb)).toEqual(["ADD", "DEL", "DEL"]);
        expect(bw.every((c) => c.error === undefined)).toBe(true);
        expect(bw[2]!.netns, "containerd's second DEL (RemovePodSandbox) has no netns").toBe("");
      } finally {
        if (ctr && id) {
          // After a failure above: the sandbox must not outlive the test (its shim, netns, mounts).
          await ctr.cri.stopPodSandbox(id).catch(() => undefined);
          await ctr.cri.removePodSandbox(id).catch(() => undefined);
        }
        await ctr?.stop();
        // containerd's cgroup parent "k8s.io" in each hierarchy: removed when it made them (empty by now).
        for (const dir of k8sCgroups()) if (!cgroupsBefore.has(dir)) rmdirSync(dir);
        const left = readdirSync("/var/run/netns").filter((n) => !netnsBefore.has(n) && n.startsWith("cni-"));
        expect(left, "network namespaces containerd left").toEqual([]);
      }
    },
  );
});
