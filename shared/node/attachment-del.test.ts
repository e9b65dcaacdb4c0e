import { describe, expect, it } from "vitest";
import { type PluginRunner, delStdin, deleteAttachment } from "./attachment-del.js";
import type { CachedAttachment } from "./libcni-cache.js";
import type { NodeNetwork } from "./node-config.js";

const net = (cniVersion: string): NodeNetwork => ({
  file: "/etc/cni/net.d/10-flannel.conflist",
  name: "cbr0",
  cniVersion,
  plugins: [
    { type: "flannel", delegate: { isDefaultGateway: true } },
    { type: "portmap", capabilities: { portMappings: true } },
  ],
});
const cached: CachedAttachment = {
  file: "/var/lib/cni/results/cbr0-abc-eth0",
  networkName: "cbr0",
  containerId: "abc",
  ifName: "eth0",
  cniArgs: [
    ["K8S_POD_NAME", "web"],
    ["IgnoreUnknown", "1"],
  ],
  capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: "tcp" }], bandwidth: {} },
  result: { cniVersion: "1.0.0", ips: [{ address: "10.244.1.5/24" }] },
  mtimeMs: 0,
};

describe("the DEL libcni would send", () => {
  it("injects name and cniVersion, prevResult only from 0.4.0, and the cached capability arguments the plugin asks for", () => {
    expect(delStdin(net("0.3.1"), 1, cached)).toEqual({
      type: "portmap",
      capabilities: { portMappings: true },
      name: "cbr0",
      cniVersion: "0.3.1",
      runtimeConfig: { portMappings: cached.capabilityArgs.portMappings },
    });
    expect(delStdin(net("1.0.0"), 0, cached)).toEqual({
      type: "flannel",
      delegate: { isDefaultGateway: true },
      name: "cbr0",
      cniVersion: "1.0.0",
      prevResult: cached.result,
    });
  });

  it("without the runtime's cache, portmap gets a placeholder mapping so that its DEL looks for the container's rules", () => {
    expect(delStdin(net("0.3.1"), 1, undefined).runtimeConfig).toEqual({
      portMappings: [{ hostPort: 1, containerPort: 1, protocol: "tcp" }],
    });
  });

  it("runs the plugins in reverse order with libcni's environment and stops at the first failure", () => {
    const calls: Array<{ type: string; env: Record<string, string> }> = [];
    const runner: PluginRunner = (_bin, type, env) => {
      calls.push({ type, env });
      return type === "flannel" ? "code 11: try again" : undefined;
    };
    const out = deleteAttachment(net("0.3.1"), "/opt/cni/bin", { containerId: "abc", ifname: "eth0" }, cached, runner);
    expect(out).toEqual({ ok: false, steps: ["portmap: DEL ok", "flannel: DEL failed: code 11: try again"] });
    expect(calls.map((c) => c.type)).toEqual(["portmap", "flannel"]);
    expect(calls[0]!.env).toMatchObject({
      CNI_COMMAND: "DEL",
      CNI_CONTAINERID: "abc",
      CNI_NETNS: "",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "K8S_POD_NAME=web;IgnoreUnknown=1",
      CNI_PATH: "/opt/cni/bin",
    });
  });
});
