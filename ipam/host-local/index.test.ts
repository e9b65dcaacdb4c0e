import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runPlugin, type Io } from "../../shared/cni/dispatch.js";
import type { CniEnv } from "../../shared/cni/env.js";
import { buildInvocation, invokeVerb } from "../../shared/cni/invocation.js";
import { formatResult } from "../../shared/cni/result.js";
import { plugin } from "./index.js";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "host-local-plugin-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const conf = (extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: "inproc",
      ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.3.0.0/29" }]] },
      ...extra,
    }),
  );
const env = (command: string, containerId = "c1"): CniEnv => ({
  command,
  containerId,
  netns: "",
  ifname: "eth0",
  args: "",
  path: ["/nonexistent"],
  netnsOverride: false,
});

/** In-process, as bridge's delegate() runs it: no env, no exit, one process for many calls. */
function call(verb: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS", stdin: Buffer, containerId = "c1") {
  return invokeVerb(plugin, buildInvocation(verb, env(verb, containerId), stdin, {}));
}

describe("host-local plugin in-process", () => {
  it("serves many attachments from one process, concurrently started calls included", async () => {
    const results = await Promise.all(["a", "b", "c", "d", "e"].map((id) => call("ADD", conf(), id)));
    const addrs = results.map((r) => r!.ips[0]!.address);
    expect(new Set(addrs).size).toBe(5);
    expect(formatResult(results[0]!, "1.1.0")).toContain('"address": "10.3.0.2/29"');
    await call("CHECK", conf(), "c");
    await call("DEL", conf(), "c");
    await expect(call("CHECK", conf(), "c")).rejects.toThrow("host-local: Failed to find address added by container c");
    await expect(call("ADD", conf(), "f")).resolves.toBeDefined();
    await expect(call("STATUS", conf())).rejects.toMatchObject({ code: 50 });
    await call("GC", conf({ "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }] }));
    expect(readdirSync(join(dataDir, "inproc")).filter((n) => n.startsWith("10."))).toEqual(["10.3.0.2"]);
    await call("STATUS", conf());
  });

  it("DEL releases even when the ranges no longer validate", async () => {
    await call("ADD", conf());
    const broken = Buffer.from(
      JSON.stringify({
        cniVersion: "1.1.0",
        name: "inproc",
        ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.3.0.1/29" }]] },
      }),
    );
    await call("DEL", broken);
    expect(readdirSync(join(dataDir, "inproc")).filter((n) => n.startsWith("10."))).toEqual([]);
  });

  it("runs as an executable entry with CNI_ARGS IP=", async () => {
    let stdout = "";
    const io: Io = { readStdin: () => conf({ cniVersion: "0.3.1" }), stdout: (t) => (stdout += t), stderr: () => {} };
    const status = await runPlugin(
      plugin,
      {
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "x",
        CNI_NETNS: "/nonexistent-netns",
        CNI_IFNAME: "eth0",
        CNI_PATH: "/x",
        CNI_ARGS: "IgnoreUnknown=1;IP=10.3.0.6",
      },
      io,
    );
    expect(status).toBe(0);
    expect(stdout).toBe(
      '{\n    "cniVersion": "0.3.1",\n    "ips": [\n        {\n            "version": "4",\n            "address": "10.3.0.6/29",\n            "gateway": "10.3.0.1"\n        }\n    ],\n    "dns": {}\n}',
    );
  });
});
