import { describe, expect, it } from "vitest";
import { parseNetwork, storeDirOf } from "./node-config.js";

describe("the paths a network's plugins compute", () => {
  it("kube-flannel's stock conflist: flannel's and host-local's defaults", () => {
    const text = JSON.stringify({
      name: "cbr0",
      cniVersion: "0.3.1",
      plugins: [
        { type: "flannel", delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });
    const net = parseNetwork("/etc/cni/net.d/10-flannel.conflist", text);
    expect(net).toMatchObject({
      name: "cbr0",
      cniVersion: "0.3.1",
      hostLocalDataDir: "/var/lib/cni/networks",
      flannel: { subnetFile: "/run/flannel/subnet.env", dataDir: "/var/lib/cni/flannel" },
    });
    expect(storeDirOf(net as never)).toBe("/var/lib/cni/networks/cbr0");
  });

  it("overridden paths, a single .conf, and networks without host-local", () => {
    const flannel = parseNetwork(
      "a.conflist",
      JSON.stringify({
        name: "n",
        plugins: [{ type: "flannel", subnetFile: "/s", dataDir: "/f", ipam: { dataDir: "/d" } }],
      }),
    );
    expect(flannel).toMatchObject({ hostLocalDataDir: "/d", flannel: { subnetFile: "/s", dataDir: "/f" } });
    const bridge = parseNetwork(
      "b.conf",
      JSON.stringify({ name: "b", cniVersion: "1.0.0", type: "bridge", ipam: { type: "host-local", dataDir: "/x" } }),
    );
    expect(bridge).toMatchObject({ plugins: [{ type: "bridge" }], hostLocalDataDir: "/x" });
    const dhcp = parseNetwork("c.conf", JSON.stringify({ name: "c", type: "macvlan", ipam: { type: "dhcp" } }));
    expect(storeDirOf(dhcp as never)).toBeUndefined();
  });

  it("says why a file cannot be used", () => {
    expect(parseNetwork("x.conflist", "{")).toMatchObject({ problem: expect.stringMatching(/^not JSON/) });
    expect(parseNetwork("x.conflist", JSON.stringify({ name: "x", plugins: [] }))).toEqual({
      file: "x.conflist",
      problem: "no plugins",
    });
    expect(parseNetwork("x.conflist", JSON.stringify({ plugins: [{ type: "a" }] }))).toEqual({
      file: "x.conflist",
      problem: "no network name",
    });
  });
});
