import { describe, expect, it } from "vitest";
import { chainPlugins, liveness, parseCacheFile } from "./cached-attachments.js";

const conflist = {
  cniVersion: "1.0.0",
  name: "cbr0",
  plugins: [
    { type: "flannel", delegate: { hairpinMode: true } },
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "bandwidth", capabilities: { bandwidth: true } },
  ],
};

function cacheEntry(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: "cniCacheV1",
    containerId: "c1",
    config: Buffer.from(JSON.stringify(conflist)).toString("base64"),
    ifName: "eth0",
    networkName: "cbr0",
    capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: "tcp" }] },
    result: {
      cniVersion: "1.0.0",
      interfaces: [{ name: "cni0" }, { name: "eth0", sandbox: "/proc/self/ns/net" }],
      ips: [{ address: "10.244.1.5/24", gateway: "10.244.1.1", interface: 1 }],
    },
    ...overrides,
  });
}

describe("libcni's result cache", () => {
  it("hands each plugin the capabilities it declares, with the list's name and version, as libcni does", () => {
    const plugins = chainPlugins(conflist, { portMappings: [1], bandwidth: { rate: 1 }, other: true });
    expect(plugins.map((p) => p.type)).toEqual(["flannel", "portmap", "bandwidth"]);
    expect(plugins[0]!.raw).toEqual({
      type: "flannel",
      delegate: { hairpinMode: true },
      name: "cbr0",
      cniVersion: "1.0.0",
    });
    expect(plugins[1]!.raw.runtimeConfig).toEqual({ portMappings: [1] });
    expect(plugins[2]!.raw.runtimeConfig).toEqual({ bandwidth: { rate: 1 } });
  });

  it("reads a v1 entry: config, capability args, result", () => {
    const att = parseCacheFile(cacheEntry(), "/c/results/cbr0-c1-eth0", 5)!;
    expect(att).toMatchObject({ network: "cbr0", containerId: "c1", ifname: "eth0", cniVersion: "1.0.0", mtimeMs: 5 });
    expect(att.result?.ips[0]?.address).toBe("10.244.1.5/24");
    expect(att.plugins[1]!.raw.runtimeConfig).toEqual({
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: "tcp" }],
    });
    expect(liveness(att)).toBe("live");
  });

  it("falls back to the conf dir's config when the entry has none, and rejects what is not a v1 entry", () => {
    const noConfig = cacheEntry({ config: undefined });
    expect(parseCacheFile(noConfig, "f", 0)).toBeUndefined();
    expect(parseCacheFile(noConfig, "f", 0, new Map([["cbr0", conflist]]))?.plugins.length).toBe(3);
    expect(parseCacheFile(cacheEntry({ kind: "other" }), "f", 0)).toBeUndefined();
    expect(parseCacheFile("{not json", "f", 0)).toBeUndefined();
    expect(parseCacheFile(cacheEntry({ containerId: "" }), "f", 0)).toBeUndefined();
  });

  it("an attachment whose pod namespace is gone is not live; one whose result names none is unknown", () => {
    const gone = parseCacheFile(
      cacheEntry({
        result: {
          cniVersion: "1.0.0",
          interfaces: [{ name: "eth0", sandbox: "/var/run/netns/cts-no-such-ns" }],
          ips: [],
        },
      }),
      "f",
      0,
    )!;
    expect(liveness(gone)).toBe("gone");
    const unknown = parseCacheFile(
      cacheEntry({ result: { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] } }),
      "f",
      0,
    )!;
    expect(liveness(unknown)).toBe("unknown");
  });
});
