/**
 * host-local reclaims leaked reservations by itself when a range is exhausted — no runtime GC,
 * no operator — on a kube-flannel node (0.3.1 conflist) with a /29 (five pod addresses), and
 * concurrent ADDs racing that reclamation (and `cni-ts gc --apply`) never get the same address.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import type { Pod } from "./lib/sandbox.js";
import {
  type FlannelNode,
  NETWORK,
  TEN_MINUTES,
  addFlannelPod,
  backdate,
  crashPod,
  flannelNode,
  leakSuite,
  nodeCommand,
  pathFlags,
  podAddresses,
  reservationsOf,
} from "./lib/suites/leaks.js";

const sandbox = leakSuite();

/** A /29 node whose five addresses are all held by pods that crashed ten minutes ago. */
async function fullOfLeaks(): Promise<{ f: FlannelNode; leaked: string[] }> {
  const f = flannelNode(await sandbox.node({ impl: "ours" }), { subnetPrefix: 29 });
  const leaked: string[] = [];
  for (const label of ["a", "b", "c", "d", "e"]) {
    const { pod, address } = await addFlannelPod(f, label);
    leaked.push(address);
    await crashPod(f, pod);
  }
  backdate(f.node.dataDir, TEN_MINUTES);
  backdate(f.node.cacheDir, TEN_MINUTES);
  expect(Object.keys(reservationsOf(f)).sort()).toEqual([...leaked].sort());
  return { f, leaked };
}

describe("host-local on an exhausted range reclaims leaked reservations", () => {
  it("a /29 filled with leaked reservations still serves new ADDs, and the debug log says what was reclaimed", async () => {
    const { f, leaked } = await fullOfLeaks();
    const log = join(f.node.workDir, "debug.log");
    const pod = await f.node.addPod("f");
    const out = await f.node.cnitool("add", NETWORK, pod, { env: { CNI_TS_DEBUG_LOG: log } });
    expectOk(out);
    const address = (out.json as { ips: Array<{ address: string }> }).ips[0]!.address.split("/")[0]!;
    expect(leaked).toContain(address);
    expect(await podAddresses(f, pod)).toContain(address);
    const notes = readFileSync(log, "utf8");
    expect(notes).toMatch(
      /host-local: range exhausted; reclaimed 10\.[0-9.]+ \(cts-[^/]+\/eth0, 6\d\d s old, in no network namespace\)/,
    );
    // Every leak went at once; the pod that came in holds one address, four are free again.
    expect(reservationsOf(f)).toEqual({ [address]: pod.containerId });
    const more = [];
    for (const label of ["g", "h", "i", "j"]) more.push(await addFlannelPod(f, label));
    expect(new Set([address, ...more.map((m) => m.address)]).size).toBe(5);
    const late = await f.node.addPod("k");
    const full = await f.node.cnitool("add", NETWORK, late);
    expect(full.ok).toBe(false);
    expect(full.stderr).toContain("no IP addresses available in range set");
    for (const p of [pod, late, ...more.map((m) => m.pod)]) expectOk(await f.node.cnitool("del", NETWORK, p));
    expect(reservationsOf(f)).toEqual({});
  });

  it("eight concurrent ADDs racing the reclamation and two `cni-ts gc --apply` never receive the same address", async () => {
    const { f } = await fullOfLeaks();
    const pods: Pod[] = [];
    for (const label of ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]) pods.push(await f.node.addPod(label));
    const [outcomes, gcs] = await Promise.all([
      Promise.all(pods.map((p) => f.node.cnitool("add", NETWORK, p))),
      Promise.all([
        nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]),
        nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]),
      ]),
    ]);
    for (const g of gcs) expect(g.status, g.stdout + g.stderr).toBe(0);
    const won = new Map<string, Pod>();
    outcomes.forEach((o, i) => {
      if (!o.ok) {
        expect(o.stderr).toContain("no IP addresses available in range set");
        return;
      }
      const address = (o.json as { ips: Array<{ address: string }> }).ips[0]!.address.split("/")[0]!;
      expect(won.has(address), `${address} handed out twice`).toBe(false);
      won.set(address, pods[i]!);
    });
    // All five leaked addresses were reclaimed and each went to exactly one pod, which has it.
    expect(won.size).toBe(5);
    expect(reservationsOf(f)).toEqual(Object.fromEntries([...won].map(([a, p]) => [a, p.containerId])));
    for (const [address, pod] of won) expect(await podAddresses(f, pod)).toContain(address);
    for (const p of pods) expectOk(await f.node.cnitool("del", NETWORK, p));
    expect(reservationsOf(f)).toEqual({});
  });
});
