/**
 * The kernel layer's other path: where there is no FFI (Node), the same typed steps run as
 * `ip -batch` processes (through nsenter for the pod) and the port wait as `ip monitor`. The
 * plugins are bundled for Node here and run side by side with Debian's Go plugins, as the Bun
 * executable is in bridge-basic.test.ts and loopback.test.ts; the trace shows which path ran.
 */
import { chmodSync, linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLUGIN_NAMES } from "../shared/plugins.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { REFERENCE_BIN, REPO_ROOT } from "./lib/paths.js";
import { newToken } from "./lib/sandbox.js";
import { runBridgeBasic } from "./lib/scenarios/bridge-basic.js";
import { bandwidthBinDir, bandwidthConflist, bwNames, captureTc, shapingLeftovers } from "./lib/suites/bandwidth.js";
import { expectSameAsReference, runTwin } from "./lib/twin.js";
import { useSandbox } from "./lib/use-sandbox.js";

let binDir = "";

beforeAll(async () => {
  await ensureCnitool();
  binDir = mkdtempSync(join(tmpdir(), "cni-ts-node-"));
  const main = join(binDir, "cni-ts");
  buildSync({
    entryPoints: [join(REPO_ROOT, "shared/main.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["bun:ffi"],
    banner: { js: "#!/usr/bin/env node" },
    outfile: main,
    logLevel: "error",
  });
  chmodSync(main, 0o755);
  for (const name of PLUGIN_NAMES) linkSync(main, join(binDir, name));
}, 120_000);

const dirs: string[] = [];
afterAll(() => {
  if (binDir) rmSync(binDir, { recursive: true, force: true });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the plugins under Node (ip -batch and nsenter instead of netlink)", () => {
  const sandbox = useSandbox();

  it("bridge + host-local ADD, CHECK, DEL: same as the reference [cniVersion 1.0.0]", async () => {
    const run = await runTwin(sandbox, (node, record) => runBridgeBasic(node, "1.0.0", record), {
      cniPathFor: (impl) => (impl === "ours" ? [binDir] : undefined),
    });
    expectSameAsReference(run, []);
  });

  it("runs ip processes where the Bun build makes netlink requests, for bridge and loopback alike", async () => {
    const node = await sandbox.node({ impl: "ours", cniPath: [binDir] });
    const log = join(node.workDir, "trace.jsonl");
    const network = node.uniqueName("br-");
    node.writeConflist({
      cniVersion: "1.0.0",
      name: network,
      plugins: [
        {
          type: "bridge",
          bridge: node.uniqueName("b"),
          isGateway: true,
          ipam: { type: "host-local", subnet: node.subnet(), dataDir: node.dataDir },
        },
      ],
    });
    const lo = node.uniqueName("lo-");
    node.writeConflist({ cniVersion: "1.0.0", name: lo, plugins: [{ type: "loopback" }] });
    const pod = await node.addPod("a");
    const env = { CNI_TS_DEBUG_LOG: log };
    expectOk(await node.cnitool("add", lo, pod, { ifname: "lo", env }), "loopback ADD");
    expectOk(await node.cnitool("add", network, pod, { env }), "bridge ADD");
    expectOk(await node.cnitool("del", network, pod, { env }), "bridge DEL");
    type Rec = { plugin: string; verb: string; processes: { cmd: string }[]; netlink?: unknown[] };
    const records = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Rec);
    const mine = records.filter((r) => r.plugin === "bridge" || r.plugin === "loopback");
    expect(mine.map((r) => `${r.plugin} ${r.verb}`)).toEqual(["loopback ADD", "bridge ADD", "bridge DEL"]);
    for (const r of mine) {
      expect(r.netlink ?? []).toEqual([]);
      expect(
        r.processes.some((p) => p.cmd.startsWith("ip -j -d -batch -")),
        `${r.plugin} ${r.verb}: ${JSON.stringify(r.processes)}`,
      ).toBe(true);
    }
    expect(mine[0]!.processes.every((p) => p.cmd.endsWith(`in ${pod.path}`))).toBe(true);
  });

  it("bandwidth's steps as ip and tc processes leave the same ifb and tc state as the Bun build's netlink", async () => {
    const token = newToken();
    const bw = {
      capArgs: {
        bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 400_000 },
      },
    };
    // Debian's bridge + host-local below each bandwidth: ours under Node, and the Bun build.
    const nodeBin = mkdtempSync(join(tmpdir(), "cni-ts-node-bw-"));
    dirs.push(nodeBin);
    for (const p of ["bridge", "host-local", "loopback"]) symlinkSync(join(REFERENCE_BIN, p), join(nodeBin, p));
    symlinkSync(join(binDir, "bandwidth"), join(nodeBin, "bandwidth"));
    const bunBin = bandwidthBinDir("ours");
    dirs.push(bunBin.dir);
    const states = [];
    for (const cniPath of [nodeBin, bunBin.dir]) {
      const node = await sandbox.node({ impl: "ours", token, cniPath: [cniPath] });
      const n = bwNames(node);
      node.writeConflist(bandwidthConflist(node, n));
      const pod = await node.addPod("a");
      const log = join(node.workDir, "trace.jsonl");
      const opts = { ...bw, env: { CNI_TS_DEBUG_LOG: log } };
      expectOk(await node.cnitool("add", n.network, pod, opts), "ADD");
      expectOk(await node.cnitool("check", n.network, pod, opts), "CHECK");
      states.push(await captureTc(node, [pod]));
      expectOk(await node.cnitool("del", n.network, pod, opts), "DEL");
      expect(await shapingLeftovers(node)).toEqual([]);
      type Rec = { plugin: string; verb: string; processes: { cmd: string }[] };
      const procs = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Rec)
        .filter((r) => r.plugin === "bandwidth")
        .map((r) => `${r.verb}: ${r.processes.map((p) => p.cmd.split(" ")[0]).join(" ")}`);
      // Under Node: ADD reads the peer index in the pod, makes the ifb, then tc; CHECK the peer index, tc
      // reads; DEL the ifb. The Bun build starts none.
      expect(procs).toEqual(
        cniPath === nodeBin ? ["ADD: ip ip tc", "CHECK: ip tc", "DEL: ip"] : ["ADD: ", "CHECK: ", "DEL: "],
      );
    }
    expect(states[0]).toEqual(states[1]);
    expect(Object.keys(states[0]!.aliases)).toHaveLength(1);
  });
});
