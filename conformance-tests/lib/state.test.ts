import { describe, expect, it } from "vitest";
import type { LinkInfo } from "./observe.js";
import { routeLine, vethRoles } from "./state.js";

describe("routeLine", () => {
  it("prints a route like `ip route`", () => {
    expect(
      routeLine({
        dst: "10.1.2.0/24",
        dev: "eth0",
        protocol: "kernel",
        scope: "link",
        prefsrc: "10.1.2.2",
        flags: ["linkdown"],
      }),
    ).toBe("10.1.2.0/24 dev eth0 proto kernel scope link src 10.1.2.2 linkdown");
    expect(
      routeLine({ type: "local", dst: "10.1.2.2", dev: "eth0", table: "local", protocol: "kernel", scope: "host" }),
    ).toBe("local 10.1.2.2 dev eth0 table local proto kernel scope host");
    expect(
      routeLine({ dst: "default", gateway: "10.1.2.1", dev: "eth0", metric: 100, mtu: 1400 }, (n) => `<${n}>`),
    ).toBe("default via 10.1.2.1 dev <eth0> metric 100 mtu 1400");
  });
});

describe("vethRoles", () => {
  it("names the node side of each pod veth after the pod and its interface, via the peer index", () => {
    const podLinks = [
      { ifindex: 1, ifname: "lo", flags: [], mtu: 65536, operstate: "UNKNOWN" },
      {
        ifindex: 2,
        ifname: "eth0",
        flags: [],
        mtu: 1500,
        operstate: "UP",
        link_index: 7,
        linkinfo: { info_kind: "veth" },
      },
      {
        ifindex: 3,
        ifname: "net1",
        flags: [],
        mtu: 1500,
        operstate: "UP",
        link_index: 9,
        linkinfo: { info_kind: "veth" },
      },
    ] as LinkInfo[];
    expect([...vethRoles("a", podLinks)]).toEqual([
      [7, "veth<a:eth0>"],
      [9, "veth<a:net1>"],
    ]);
  });
});
