/**
 * The harness's CNI clients themselves: the libcni client (cnitool) must do exactly what libcni
 * does for a runtime, and the direct runtime (used for 1.1.0) must send plugins what libcni sends.
 * Checked with recording fake plugins, so these tests do not depend on any real plugin.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { directAdd, directCheck, directDel } from "./lib/runtimes/direct.js";
import { fakePluginCalls, writeFakePlugin } from "./lib/fake-plugin.js";
import type { SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";

beforeAll(async () => {
  await ensureCnitool();
});

const RESULT = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: "/x" }],
  ips: [{ address: "10.1.2.3/24", interface: 0 }],
  dns: {},
};

async function twoFakes(sandbox: ReturnType<typeof useSandbox>, cniVersion: string) {
  const node = await sandbox.node({ privateBin: true });
  // A well-formed result of the list's version (0.3.x/0.4.0 IPs carry "version"), as libcni
  // re-marshals it through Go's types before handing it on as prevResult.
  const ips = cniVersion.startsWith("0.") ? RESULT.ips.map((ip) => ({ ...ip, version: "4" })) : RESULT.ips;
  const first = writeFakePlugin(node.binDir, "fake-first", { addResult: { ...RESULT, ips, cniVersion } });
  const second = writeFakePlugin(node.binDir, "fake-second");
  const network = node.uniqueName("fk-");
  node.writeConflist({
    cniVersion,
    name: network,
    plugins: [
      { type: "fake-first", capabilities: { portMappings: true }, someKey: { nested: 1 } },
      { type: "fake-second", capabilities: { mac: true } },
    ],
  });
  return { node, first, second, network };
}

function cacheFiles(node: SandboxNode): string[] {
  const dir = join(node.cacheDir, "results");
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe("libcni client (conformance-tests/cnitool)", () => {
  const sandbox = useSandbox();

  it("derives the container id from the netns path like upstream cnitool", async () => {
    const derive = (p: string) => `cnitool-${createHash("sha512").update(p).digest("hex").slice(0, 20)}`;
    expect(derive("/var/run/netns/testing")).toBe("cnitool-77383ca0a0715733ca6f"); // upstream's documented example
    const { node, first, network } = await twoFakes(sandbox, "1.0.0");
    const pod = await node.addPod("a");
    expectOk(await node.cnitool("add", network, pod, { env: { CNI_CONTAINERID: "" } }));
    expect(fakePluginCalls(first)[0]!.env.CNI_CONTAINERID).toBe(derive(pod.path));
  });

  it("chains ADD in order with prevResult, runtimeConfig only for declared capabilities, and caches in its own dir", async () => {
    const { node, first, second, network } = await twoFakes(sandbox, "1.0.0");
    const pod = await node.addPod("a");
    const out = await node.cnitool("add", network, pod, {
      args: "IgnoreUnknown=1;K8S_POD_NAME=p1",
      capArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], mac: "c2:11:22:33:44:55" },
    });
    expect(expectOk(out)).toEqual(RESULT);

    const [a] = fakePluginCalls(first);
    const [b] = fakePluginCalls(second);
    expect(a!.env).toMatchObject({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: pod.path,
      CNI_IFNAME: "eth0",
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p1",
      CNI_PATH: node.cniPath.join(":"),
    });
    expect(a!.conf).toEqual({
      cniVersion: "1.0.0",
      name: network,
      type: "fake-first",
      capabilities: { portMappings: true },
      someKey: { nested: 1 },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
    });
    expect(b!.conf?.prevResult).toEqual(RESULT);
    expect(b!.conf?.runtimeConfig).toEqual({ mac: "c2:11:22:33:44:55" });
    expect(cacheFiles(node)).toEqual([`${network}-${pod.containerId}-eth0`]);
    expect(existsSync(`/var/lib/cni/results/${network}-${pod.containerId}-eth0`)).toBe(false);
  });

  it("runs DEL in reverse order with the cached result, then drops the cache entry", async () => {
    const { node, first, second, network } = await twoFakes(sandbox, "1.0.0");
    const pod = await node.addPod("a");
    expectOk(await node.cnitool("add", network, pod, { ifname: "net1" }));
    expectOk(await node.cnitool("del", network, pod, { ifname: "net1" }));
    const delFirst = fakePluginCalls(first)[1]!;
    const delSecond = fakePluginCalls(second)[1]!;
    expect(delSecond.env.CNI_COMMAND).toBe("DEL");
    expect(delFirst.env.CNI_IFNAME).toBe("net1");
    expect(delFirst.conf?.prevResult).toEqual(RESULT);
    expect(delSecond.conf?.prevResult).toEqual(RESULT);
    expect(cacheFiles(node)).toEqual([]);
  });

  it("refuses CHECK for 0.3.1 without calling a plugin", async () => {
    const { node, first, network } = await twoFakes(sandbox, "0.3.1");
    const pod = await node.addPod("a");
    const out = await node.cnitool("check", network, pod);
    expect(out.ok).toBe(false);
    expect(out.stderr).toMatch(/does not support the CHECK command/);
    expect(fakePluginCalls(first)).toEqual([]);
  });

  it("reports a plugin's error with a non-zero exit and caches nothing", async () => {
    const { node, second, network } = await twoFakes(sandbox, "1.0.0");
    writeFakePlugin(node.binDir, "fake-second", { fail: { verbs: ["ADD"], code: 11, msg: "boom: try again" } });
    const pod = await node.addPod("a");
    const out = await node.cnitool("add", network, pod);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('plugin type="fake-second" failed (add): boom: try again');
    expect(cacheFiles(node)).toEqual([]);
  });
});

describe("direct runtime (for 1.1.0, GC, STATUS)", () => {
  const sandbox = useSandbox();

  for (const version of ["0.3.1", "1.0.0"]) {
    it(`sends every plugin the same environment and config as libcni does [cniVersion ${version}]`, async () => {
      const viaLibcni = await twoFakes(sandbox, version);
      const direct = await twoFakes(sandbox, version);
      const opts = { args: "IgnoreUnknown=1", capArgs: { portMappings: [], mac: "c2:11:22:33:44:55" } };
      const podL = await viaLibcni.node.addPod("a");
      const podD = await direct.node.addPod("a");
      const withCheck = version !== "0.3.1";
      expectOk(await viaLibcni.node.cnitool("add", viaLibcni.network, podL, opts));
      if (withCheck) expectOk(await viaLibcni.node.cnitool("check", viaLibcni.network, podL, opts));
      expectOk(await viaLibcni.node.cnitool("del", viaLibcni.network, podL, opts));
      expectOk(await directAdd(direct.node, direct.network, podD, opts));
      if (withCheck) expectOk(await directCheck(direct.node, direct.network, podD, opts));
      else
        await expect(directCheck(direct.node, direct.network, podD, opts)).rejects.toThrow(
          /does not support the CHECK command/,
        );
      expectOk(await directDel(direct.node, direct.network, podD, opts));

      const view = (s: { node: SandboxNode; network: string }, file: string) =>
        fakePluginCalls(file).map((c) => ({
          verb: c.env.CNI_COMMAND,
          env: {
            ...c.env,
            CNI_NETNS: "<pod>",
            CNI_PATH: "<path>",
            CNI_CONTAINERID: c.env.CNI_CONTAINERID?.replace(s.node.token, "<t>"),
          },
          conf: JSON.parse(JSON.stringify(c.conf).replaceAll(s.network, "<net>")),
        }));
      expect(view(direct, direct.first)).toEqual(view(viaLibcni, viaLibcni.first));
      expect(view(direct, direct.second)).toEqual(view(viaLibcni, viaLibcni.second));
      expect(view(direct, direct.first).map((c) => c.verb)).toEqual(
        withCheck ? ["ADD", "CHECK", "DEL"] : ["ADD", "DEL"],
      );
      const del = fakePluginCalls(direct.first).at(-1)!;
      expect(del.conf?.prevResult === undefined).toBe(!withCheck);
    });
  }
});
