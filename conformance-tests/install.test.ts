/**
 * `cni-ts install` into a sandboxed node's plugin directory, then what kube-flannel's
 * install-cni-plugin init container does on every restart of the kube-flannel pod:
 * `cp -f /flannel /opt/cni/bin/flannel` (Debian's Go bridge stands in for upstream's flannel, which
 * Debian does not package; any file shows the write-through). The other names must still be ours
 * and a bridge + host-local chain must still work.
 */
import { copyFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PLUGIN_NAMES } from "../shared/plugins.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { kubeFlannelAddCheckDel, writeKubeFlannelConflist } from "./lib/cluster/kube-flannel-node.js";
import { cidrsOf } from "./lib/observe.js";
import { OURS_BIN, REFERENCE_BIN, TOOL_PATH, requireOursBuilt } from "./lib/paths.js";
import { runCommand } from "./lib/run-command.js";
import type { SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";

beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
});

const install = (binDir: string, ...args: string[]) =>
  runCommand([join(OURS_BIN, "cni-ts"), "install", "--bin-dir", binDir, ...args], {
    env: { PATH: TOOL_PATH },
    check: false,
  });

async function versionLine(file: string): Promise<string> {
  const r = await runCommand([file, "--version"], { env: { PATH: TOOL_PATH }, check: false });
  return `${r.stdout}${r.stderr}`.trim();
}

/** A bridge + host-local network straight through bridge (no flannel). */
function writeBridgeConflist(node: SandboxNode): string {
  const name = node.uniqueName("br-");
  node.writeConflist({
    name,
    cniVersion: "1.0.0",
    plugins: [
      {
        type: "bridge",
        bridge: node.uniqueName("cni"),
        isGateway: true,
        ipam: { type: "host-local", subnet: node.subnet(), dataDir: join(node.dataDir, "ipam") },
      },
    ],
  });
  return name;
}

describe("cni-ts install", () => {
  const sandbox = useSandbox();

  it("survives kube-flannel's cp -f over flannel: the other four stay ours and a bridge chain works", async () => {
    const node = await sandbox.node({ privateBin: true, cniPath: [] });
    const first = await install(node.binDir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`: ${1 + PLUGIN_NAMES.length} changed, 0 unchanged\\n$`));
    const again = await install(node.binDir);
    expect(again.stdout).toMatch(new RegExp(`: 0 changed, ${1 + PLUGIN_NAMES.length} unchanged\\n$`));
    const ours = await versionLine(join(OURS_BIN, "cni-ts"));
    expect(ours).toMatch(/^cni-ts v\d+\.\d+\.\d+\S* \(commit [0-9a-f]{7,}\S*, bun-linux-\S+\)$/);
    const build = ours.slice("cni-ts ".length);
    // The line a plugin prints when a person runs it (no CNI_COMMAND) names the same build.
    const bare = await runCommand([join(node.binDir, "bridge")], { env: { PATH: TOOL_PATH } });
    expect(bare.stderr.split("\n")[0]).toBe(`CNI bridge plugin (cni-ts) ${build}`);

    // The kube-flannel chain works from the installed layout, bridge in flannel's own process
    // although flannel is a separate file (one trace line per process: flannel and portmap only).
    writeKubeFlannelConflist(node);
    const log = join(node.workDir, "trace.jsonl");
    await kubeFlannelAddCheckDel(node, await node.addPod("k"), { env: { CNI_TS_DEBUG_LOG: log } });
    const adds = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { plugin: string; verb: string; release: string });
    expect(adds.filter((l) => l.verb === "ADD").map((l) => l.plugin)).toEqual(["flannel", "portmap"]);
    expect(build).toContain(`v${adds[0]!.release} `);

    copyFileSync(join(REFERENCE_BIN, "bridge"), join(node.workDir, "go-flannel"));
    const cp = await runCommand(["cp", "-f", join(node.workDir, "go-flannel"), join(node.binDir, "flannel")], {
      env: { PATH: TOOL_PATH },
    });
    expect(cp.status).toBe(0);
    expect(statSync(join(node.binDir, "flannel")).size).toBe(statSync(join(REFERENCE_BIN, "bridge")).size);
    for (const name of PLUGIN_NAMES.filter((n) => n !== "flannel")) {
      expect(await versionLine(join(node.binDir, name)), name).toMatch(
        new RegExp(`^CNI ${name} plugin \\(cni-ts\\) v`),
      );
    }
    expect(await versionLine(join(node.binDir, "flannel"))).not.toContain("cni-ts");

    const network = writeBridgeConflist(node);
    const pod = await node.addPod("a");
    expectOk(await node.cnitool("add", network, pod), "bridge ADD after cp -f");
    expect(await cidrsOf(pod, "eth0")).toHaveLength(1);
    expectOk(await node.cnitool("check", network, pod), "bridge CHECK after cp -f");
    expectOk(await node.cnitool("del", network, pod), "bridge DEL after cp -f");

    // Our next run refuses the foreign flannel, changes nothing, and restores it with --replace.
    const refused = await install(node.binDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not overwriting .*\/flannel: .*--replace/);
    const restored = await install(node.binDir, "--replace");
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(
      /flannel: its own copy of cni-ts.*\(replaced a file that was not cni-ts\)\n.*: 1 changed/,
    );
    await kubeFlannelAddCheckDel(node, await node.addPod("r"));
  });
});
