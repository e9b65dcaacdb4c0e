/** The README's main command, run as a person runs it. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sh } from "./lib/run-command.js";
import { baseDirFor } from "./lib/cluster/state.js";
import { REPO_ROOT } from "./lib/paths.js";

const DEMO = join(REPO_ROOT, "scripts", "demo");

function demo(args: string[]) {
  return sh([DEMO, ...args], { check: false, timeoutMs: 600_000, env: { HOME: process.env.HOME ?? "/root" } });
}

function netnsOf(id: string): string[] {
  return existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith(`flc-${id}-`)) : [];
}

describe("scripts/demo", () => {
  it("shows same-node and cross-node pod traffic over vxlan, exits 0 and leaves nothing behind", async () => {
    const r = await demo([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("Same node:  4/4 pod pairs reached each other over cni0");
    expect(r.stdout).toContain("Cross node: 8/8 pod pairs reached each other over flannel.1 (VXLAN VNI 1, UDP 8472)");
    expect(r.stdout).toMatch(/FLANNEL_MTU\s+cni0/);
    expect(r.stdout).toContain("nothing left behind");
    const id = /cluster ([0-9a-f]{8}) is up/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    expect(netnsOf(id!)).toEqual([]);
    expect(existsSync(baseDirFor(id!))).toBe(false);
  });

  it("--flavour k3s: k3s's conflist on 10.42.0.0/16, the annotated pods shaped by bandwidth, nothing left behind", async () => {
    const r = await demo(["--flavour", "k3s", "--pods", "1"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("(k3s conflist), backend vxlan, cluster CIDR 10.42.0.0/16");
    expect(r.stdout).toContain("then portmap, then bandwidth; bandwidth annotations 10M each way");
    expect(r.stdout).toMatch(/node1\/pod-1\s+10\.0 Mbit\/s on veth[0-9a-f]+\s+10\.0 Mbit\/s on bwp[0-9a-f]{12}/);
    expect(r.stdout).toContain("Cross node: 2/2 pod pairs reached each other over flannel.1");
    expect(r.stdout).toContain("after DEL: no pod veth, ifb device, reservation");
    expect(r.stdout).toContain("nothing left behind");
  });

  it("--keep leaves a host-gw cluster on k3s's network running; --teardown ID removes it", async () => {
    const r = await demo(["--keep", "--backend", "host-gw", "--cluster-cidr", "10.42.0.0/16", "--pods", "1"]);
    const id = /Cluster id: ([0-9a-f]{8})/.exec(r.stdout)?.[1];
    try {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        "Cross node: 2/2 pod pairs reached each other over direct routes via the other node's eth0",
      );
      expect(id).toBeDefined();
      expect(netnsOf(id!).sort()).toEqual([
        `flc-${id}-node1`,
        `flc-${id}-node1-pod-1`,
        `flc-${id}-node2`,
        `flc-${id}-node2-pod-1`,
      ]);
      // What the printed hint says works: a pod on node1 reaches the pod on node2.
      const hint = /ip netns exec (\S+) ping -c 3 (\S+)/.exec(r.stdout);
      expect(hint).not.toBeNull();
      expect(
        (await sh(["ip", "netns", "exec", hint![1]!, "ping", "-c", "1", "-W", "2", hint![2]!], { check: false }))
          .status,
      ).toBe(0);
    } finally {
      if (id) {
        const t = await demo(["--teardown", id]);
        expect(t.status, t.stderr).toBe(0);
        expect(netnsOf(id)).toEqual([]);
        expect(existsSync(baseDirFor(id))).toBe(false);
      }
    }
  });

  it("refuses a bad option with a message naming it", async () => {
    const r = await demo(["--backend", "udp"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--backend: must be vxlan or host-gw");
    expect(r.stdout).not.toContain("is up");
  });
});
