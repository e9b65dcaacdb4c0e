/**
 * `cni-ts metrics` on a sandboxed node, parsed with a strict parser of the text format and held
 * against the node's own state: range sizes from the configs (a bridge network with v4 + v6
 * ranges, a flannel network sized by its subnet.env, one whose subnet.env is missing), allocated
 * addresses as the store holds them, leaked ones (a pod whose namespace vanished without DEL, a
 * reservation nobody in the cache owns), attachments by liveness.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { deleteNetns } from "./lib/netns.js";
import { OURS_BIN, requireOursBuilt } from "./lib/paths.js";
import { parsePrometheusText } from "./lib/prometheus-text.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { firewallNode, nodeCommand } from "./lib/suites/firewall.js";

beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
});

describe("cni-ts metrics", () => {
  const sandbox = useSandbox();

  it("prints valid Prometheus text that matches the node's pools, reservations and attachments", async () => {
    const node = await sandbox.node({ impl: "ours" });
    const f = await firewallNode(node, "iptables");
    const c = await node.addPod("c");
    expectOk(await node.cnitool("add", f.network, c), "ADD c");
    await deleteNetns(c.name); // the runtime lost the pod without DEL: c's address leaks
    const store = join(node.dataDir, f.network);
    const ghost = `${node.subnet().split(".").slice(0, 3).join(".")}.250`;
    writeFileSync(join(store, ghost), "cts-ghost-container\r\neth0");

    const subnetFile = join(node.workDir, "subnet.env");
    writeFileSync(
      subnetFile,
      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
    const flannelNet = node.uniqueName("fl-");
    const flannel = (subnet: string) => ({
      type: "flannel",
      subnetFile: subnet,
      dataDir: join(node.workDir, "flannel"),
      ipam: { dataDir: node.dataDir },
    });
    node.writeConflist({
      cniVersion: "1.0.0",
      name: flannelNet,
      plugins: [flannel(subnetFile), { type: "portmap", capabilities: { portMappings: true } }],
    });
    const brokenNet = node.uniqueName("nosub-");
    node.writeConflist({ cniVersion: "1.0.0", name: brokenNet, plugins: [flannel(join(node.workDir, "missing.env"))] });

    // --grace 0: the reservations made a moment ago count as leaked as soon as no namespace holds them.
    const out = await nodeCommand(node, "metrics", ["--grace", "0"]);
    expect(out.status, out.stderr).toBe(0);
    const families = parsePrometheusText(out.stdout);
    const value = (name: string, labels: Record<string, string>) => {
      const fam = families.get(name);
      expect(fam?.type, `${name} has a TYPE`).toBe(name.endsWith("_total") ? "counter" : "gauge");
      expect(fam?.help, `${name} has a HELP`).toBeTruthy();
      const hits = fam!.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      expect(hits.length, `${name}${JSON.stringify(labels)}`).toBe(1);
      return hits[0]!.value;
    };

    const inStore = readdirSync(store).filter((n) => /^[0-9a-f.:]+$/.test(n) && /[.:]/.test(n));
    const v4 = { network: f.network, family: "ipv4" };
    const v6 = { network: f.network, family: "ipv6" };
    expect(value("cni_ts_ipam_range_size", v4)).toBe(253);
    expect(value("cni_ts_ipam_range_size", v6)).toBe(Number(2n ** 64n - 2n));
    expect(value("cni_ts_ipam_allocated", v4)).toBe(inStore.filter((n) => !n.includes(":")).length);
    expect(value("cni_ts_ipam_allocated", v4)).toBe(4); // a, b, c, ghost
    expect(value("cni_ts_ipam_allocated", v6)).toBe(inStore.filter((n) => n.includes(":")).length);
    expect(value("cni_ts_ipam_allocated", v6)).toBe(3);
    expect(value("cni_ts_ipam_leaked", v4)).toBe(2); // c (namespace gone) and the ghost
    expect(value("cni_ts_ipam_leaked", v6)).toBe(1); // c
    expect(value("cni_ts_ipam_reclaimed_total", { network: f.network })).toBe(0);
    expect(value("cni_ts_leak_scan_complete", {})).toBe(1);
    expect(value("cni_ts_attachments", { network: f.network, state: "live" })).toBe(2);
    expect(value("cni_ts_attachments", { network: f.network, state: "gone" })).toBe(1);
    expect(value("cni_ts_ipam_range_size", { network: flannelNet, family: "ipv4" })).toBe(253);
    expect(value("cni_ts_ipam_allocated", { network: flannelNet, family: "ipv4" })).toBe(0);
    expect(value("cni_ts_ipam_config_error", { network: brokenNet })).toBe(1);
    expect(families.get("cni_ts_ipam_range_size")!.samples.some((s) => s.labels.network === brokenNet)).toBe(false);

    // With the default grace period nothing made a moment ago counts as leaked yet.
    const young = parsePrometheusText((await nodeCommand(node, "metrics")).stdout);
    expect(
      young
        .get("cni_ts_ipam_leaked")!
        .samples.filter((s) => s.labels.network === f.network)
        .map((s) => s.value),
    ).toEqual([0, 0]);

    // cni-ts gc releases the three leaked reservations; the counter says so and nothing is leaked any more.
    const gc = await nodeCommand(node, "gc", ["--apply", "--grace", "0", "--bin-dir", OURS_BIN]);
    expect(gc.status, gc.stdout + gc.stderr).toBe(0);
    const collected = parsePrometheusText((await nodeCommand(node, "metrics", ["--grace", "0"])).stdout);
    const of = (name: string, labels: Record<string, string>) =>
      collected.get(name)!.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(of("cni_ts_ipam_reclaimed_total", { network: f.network })).toBe(3);
    expect(of("cni_ts_ipam_leaked", v4)).toBe(0);
    expect(of("cni_ts_ipam_leaked", v6)).toBe(0);
    expect(of("cni_ts_ipam_allocated", v4)).toBe(2);

    // After the pods' DEL the figures follow.
    for (const pod of [f.a, f.b]) expectOk(await node.cnitool("del", f.network, pod, { capArgs: f.mappingsOf(pod) }));
    const after = parsePrometheusText((await nodeCommand(node, "metrics")).stdout);
    const allocatedV4 = after
      .get("cni_ts_ipam_allocated")!
      .samples.find((s) => s.labels.network === f.network && s.labels.family === "ipv4");
    expect(allocatedV4?.value).toBe(0);
    expect(
      after
        .get("cni_ts_attachments")!
        .samples.filter((s) => s.labels.network === f.network)
        .map((s) => [s.labels.state, s.value]),
    ).toEqual([]);
  });
});
