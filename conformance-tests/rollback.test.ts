/**
 * Rollback through the installer, with pods running: ours installed, a pod added; the Go plugins
 * (Debian's, standing in for upstream's release) installed back over ours with
 * `cni-ts install --from`; a second pod added by Go; Go deletes ours' pod; ours installed again
 * (`--replace`, upstream's files are not ours) and deletes Go's pod. Every DEL leaves no address
 * reservation, veth or port-mapping rule behind.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { expectReachable, stripPrefix } from "./lib/connectivity.js";
import { cidrsOf, iptablesRules, links } from "./lib/observe.js";
import { OURS_BIN, REFERENCE_BIN, TOOL_PATH, requireOursBuilt } from "./lib/paths.js";
import { runCommand } from "./lib/run-command.js";
import type { Pod, SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";

beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
});

const HOST_PORT = 18181;
const install = (binDir: string, ...args: string[]) =>
  runCommand([join(OURS_BIN, "cni-ts"), "install", "--bin-dir", binDir, ...args], { env: { PATH: TOOL_PATH } });

async function implementationOf(node: SandboxNode, name: string): Promise<"ours" | "go"> {
  const r = await runCommand([join(node.binDir, name)], { env: { PATH: TOOL_PATH }, check: false });
  return r.stderr.includes("(cni-ts)") ? "ours" : "go";
}

describe("rollback to the Go plugins and back, with pods running", () => {
  const sandbox = useSandbox();

  it("each implementation deletes the other's pods cleanly", async () => {
    const node = await sandbox.node({ privateBin: true, cniPath: [] });
    const network = node.uniqueName("rb-");
    const ipamDir = join(node.dataDir, "ipam");
    node.writeConflist({
      name: network,
      cniVersion: "1.0.0",
      plugins: [
        {
          type: "bridge",
          bridge: node.uniqueName("cni"),
          isGateway: true,
          ipam: { type: "host-local", subnet: node.subnet(), dataDir: ipamDir },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });
    const ports = (pod: Pod) => ({
      capArgs: {
        portMappings: [{ hostPort: HOST_PORT + pod.label.charCodeAt(0), containerPort: 80, protocol: "tcp" }],
      },
    });
    const reserved = () =>
      readdirSync(join(ipamDir, network))
        .filter((f) => /^\d/.test(f))
        .sort();
    const podVeths = async () => (await links(node)).filter((l) => l.linkinfo?.info_kind === "veth").length;

    await install(node.binDir);
    const a = await node.addPod("a");
    expectOk(await node.cnitool("add", network, a, ports(a)), "ours: ADD a");
    const addressA = stripPrefix((await cidrsOf(a, "eth0"))[0]!);

    const back = await install(node.binDir, "--from", REFERENCE_BIN);
    expect(back.stdout).toMatch(/cni-ts: removed \(no plugin name uses it any more\)/);
    for (const name of ["bridge", "host-local", "portmap"]) expect(await implementationOf(node, name), name).toBe("go");
    const b = await node.addPod("b");
    expectOk(await node.cnitool("add", network, b, ports(b)), "go: ADD b");
    const addressB = stripPrefix((await cidrsOf(b, "eth0"))[0]!);
    expect(addressB).not.toBe(addressA);
    await expectReachable(b, addressA);
    expect(reserved()).toEqual([addressA, addressB].sort());
    expect(await iptablesRules(node)).toContain(a.containerId); // ours' port mapping, for Go to remove

    expectOk(await node.cnitool("del", network, a, ports(a)), "go: DEL of ours' pod a");
    expect(reserved()).toEqual([addressB]);
    expect(await podVeths()).toBe(1);
    expect(await iptablesRules(node)).not.toContain(a.containerId);

    const forward = await install(node.binDir, "--replace");
    expect(forward.stdout).toMatch(/bridge: hard link to cni-ts \(replaced a file that was not cni-ts\)/);
    for (const name of ["bridge", "host-local", "portmap"])
      expect(await implementationOf(node, name), name).toBe("ours");
    await expectReachable(b, addressB.replace(/\.\d+$/, ".1"));
    expect(await iptablesRules(node)).toContain(b.containerId); // Go's port mapping, for ours to remove
    expectOk(await node.cnitool("del", network, b, ports(b)), "ours: DEL of go's pod b");
    expect(reserved()).toEqual([]);
    expect(await podVeths()).toBe(0);
    const rules = await iptablesRules(node);
    expect(rules).not.toContain(b.containerId);
    expect(rules).not.toMatch(/CNI-DN-/);
  });
});
