import { describe, expect, it } from "vitest";
import { CniError } from "../../shared/cni/errors.js";
import { buildDelegateConfig, buildReleaseConfig, delegateBytes, parseUserRoutes } from "./delegate-config.js";
import { parseFlannelConfig } from "./config.js";

const parse = (c: Record<string, unknown>) => parseFlannelConfig(c, { checkDelegate: true });
import { parseSubnetEnv, type CompleteSubnetEnv } from "./subnet-env.js";

/** What libcni hands the flannel plugin for the kube-flannel conflist (reference-plugins.md §6). */
const KUBE_FLANNEL = {
  cniVersion: "0.3.1",
  delegate: { hairpinMode: true, isDefaultGateway: true },
  name: "cbr0",
  type: "flannel",
};
/** The file the Go plugin saves for it (reference-plugins.md §5.3), byte for byte. */
const UPSTREAM_SAVED =
  '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}';

function env(text: string): CompleteSubnetEnv {
  return parseSubnetEnv(text, "subnet.env") as CompleteSubnetEnv;
}
const V4 = env("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
const V6 = env(
  "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n",
);
const DUAL = env(
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\n" +
    "FLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
);

function render(conf: Record<string, unknown>, e: CompleteSubnetEnv): string {
  return delegateBytes(buildDelegateConfig(parse(conf), e)).toString();
}

describe("delegate config (upstream's construction, Go's bytes)", () => {
  it("kube-flannel default conflist: exactly the bytes the Go plugin saves", () => {
    expect(render(KUBE_FLANNEL, V4)).toBe(UPSTREAM_SAVED);
  });

  it("matches flannel's own keys as Go does, but keeps the delegate's and ipam's map keys as written", () => {
    const conf = {
      CNIVersion: "0.3.1",
      Name: "cbr0",
      Type: "flannel",
      SubnetFile: "/run/x/subnet.env",
      DataDir: "/var/lib/x",
      Delegate: { HairpinMode: true, IsGateway: false },
      IPAM: { Routes: [{ Dst: "10.9.0.0/16", GW: "10.244.1.1" }] },
    };
    expect(parse(conf)).toMatchObject({
      name: "cbr0",
      cniVersion: "0.3.1",
      subnetFile: "/run/x/subnet.env",
      dataDir: "/var/lib/x",
    });
    // Upstream checks the delegate map for "isGateway" exactly, so it adds its own beside "IsGateway";
    // the map keeps "Routes" too, so the user's routes are not read (upstream reads ipam["routes"]).
    expect(render(conf, V4)).toBe(
      '{"HairpinMode":true,"IsGateway":false,"cniVersion":"0.3.1","ipMasq":false,' +
        '"ipam":{"Routes":[{"Dst":"10.9.0.0/16","GW":"10.244.1.1"}],"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
        '"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}',
    );
    // ipam.routes entries are Go structs (types.Route): their keys match in any case.
    expect(parseUserRoutes([{ DST: "10.9.0.0/16", Gw: "10.244.1.1", MTU: 1400 }])).toEqual([
      { dst: "10.9.0.0/16", gw: "10.244.1.1", mtu: 1400 },
    ]);
  });

  it("IPv6 only: one v6 range set, route to the v6 network, masq from FLANNEL_IPMASQ=false", () => {
    expect(JSON.parse(render({ name: "n", cniVersion: "1.0.0" }, V6))).toEqual({
      cniVersion: "1.0.0",
      ipMasq: true,
      ipam: { ranges: [[{ subnet: "fc00:0:0:1::/64" }]], routes: [{ dst: "fc00::/48" }], type: "host-local" },
      isGateway: true,
      mtu: 1430,
      name: "n",
      type: "bridge",
    });
  });

  it("dual stack: v4 range set first, then v6; routes to both networks", () => {
    const ipam = JSON.parse(render(KUBE_FLANNEL, DUAL)).ipam;
    expect(ipam.ranges).toEqual([[{ subnet: "10.244.1.0/24" }], [{ subnet: "fc00:0:0:1::/64" }]]);
    expect(ipam.routes).toEqual([{ dst: "10.244.0.0/16" }, { dst: "fc00::/48" }]);
  });

  it("several comma-separated networks each get a route, in order", () => {
    const e = env(
      "FLANNEL_NETWORK=10.244.0.0/16,10.96.0.0/12\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
    expect(JSON.parse(render(KUBE_FLANNEL, e)).ipam.routes).toEqual([
      { dst: "10.244.0.0/16" },
      { dst: "10.96.0.0/12" },
    ]);
  });

  it("keeps the user's ipam keys and routes (decoded as Go's types.Route), replaces ranges", () => {
    const conf = {
      ...KUBE_FLANNEL,
      ipam: {
        dataDir: "/x/networks",
        ranges: [[{ subnet: "192.168.0.0/24" }]],
        routes: [{ dst: "192.168.9.9/16", gw: "10.244.1.254", advmss: 1400, mtu: 1300, comment: "dropped" }],
      },
    };
    expect(render(conf, V4)).toContain(
      '"ipam":{"dataDir":"/x/networks","ranges":[[{"subnet":"10.244.1.0/24"}]],' +
        '"routes":[{"dst":"192.168.9.9/16","gw":"10.244.1.254","mtu":1300,"advmss":1400},{"dst":"10.244.0.0/16"}],"type":"host-local"}',
    );
  });

  it("the user's delegate wins over every default; a non-bridge type gets no isGateway", () => {
    const conf = {
      name: "n",
      cniVersion: "0.4.0",
      delegate: { type: "ipvlan", ipMasq: true, mtu: 9000, master: "eth1" },
      ipam: { type: "static-ish" },
    };
    expect(JSON.parse(render(conf, V4))).toEqual({
      cniVersion: "0.4.0",
      ipMasq: true,
      ipam: { ranges: [[{ subnet: "10.244.1.0/24" }]], routes: [{ dst: "10.244.0.0/16" }], type: "static-ish" },
      master: "eth1",
      mtu: 9000,
      name: "n",
      type: "ipvlan",
    });
    const bridge = JSON.parse(render({ name: "n", delegate: { isGateway: false, bridge: "cni9" } }, V4));
    expect(bridge.isGateway).toBe(false);
    expect(bridge.bridge).toBe("cni9");
    expect(bridge.cniVersion).toBeUndefined(); // no cniVersion in the conf: the delegate keeps its own
  });

  it("passes runtimeConfig through and sorts nested keys as Go's map marshalling does", () => {
    const conf = {
      ...KUBE_FLANNEL,
      delegate: { z: { b: 1, a: [{ d: 1, c: "<&>" }] } },
      runtimeConfig: { portMappings: [] },
    };
    expect(render(conf, V4)).toContain('"runtimeConfig":{"portMappings":[]}');
    expect(render(conf, V4)).toContain('"z":{"a":[{"c":"\\u003c\\u0026\\u003e","d":1}],"b":1}');
  });

  it("normalizes route addresses as Go prints them, keeping host bits of dst as types.IPNet does", () => {
    expect(
      parseUserRoutes([
        { dst: "FC00:0:0::1/64", gw: "fc00:0000::0001" },
        { dst: "10.1.2.3/8", table: 0 },
      ]),
    ).toEqual([
      { dst: "fc00::1/64", gw: "fc00::1" },
      { dst: "10.1.2.3/8", table: 0 },
    ]);
  });

  it("rejects bad ipam.routes with upstream's prefix", () => {
    expect(() => parseUserRoutes([{ dst: "bogus" }])).toThrow(
      "failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: invalid CIDR address: bogus",
    );
    expect(() => parseUserRoutes([{ dst: "10.0.0.0/8", gw: "x" }])).toThrow(/invalid IP address: x/);
    expect(() => parseUserRoutes("nope")).toThrow(CniError);
    expect(parseUserRoutes(null)).toEqual([]);
  });
});

describe("flannel config validation", () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ type: 5 }, "'delegate' dictionary, if present, must have (string) 'type' field"],
    [{ name: "x" }, "'delegate' dictionary must not have 'name' field, it'll be set by flannel"],
    [{ ipam: {} }, "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel"],
  ];
  it.each(cases)("delegate %j", (delegate, message) => {
    expect(() => parse({ name: "n", delegate })).toThrow(message);
  });

  it("are checked on ADD only (upstream's DEL does not check them)", () => {
    expect(parseFlannelConfig({ name: "n", delegate: { name: "x" } }, { checkDelegate: false }).delegate).toEqual({
      name: "x",
    });
  });

  it("defaults and case-insensitive keys, as Go's decoder", () => {
    expect(parse({ name: "n" })).toMatchObject({
      subnetFile: "/run/flannel/subnet.env",
      dataDir: "/var/lib/cni/flannel",
      delegate: {},
      ipam: {},
    });
    expect(parse({ name: "n", SubnetFile: "/a/b.env", datadir: "/d" })).toMatchObject({
      subnetFile: "/a/b.env",
      dataDir: "/d",
    });
  });

  it("relative paths are refused (the runtime's working directory is unspecified)", () => {
    expect(() => parse({ name: "n", dataDir: "rel" })).toThrow(/dataDir: must be an absolute path/);
  });
});

describe("release config (no saved config, no subnet.env)", () => {
  it("is enough for host-local to release: name, types, ipam dataDir; masq teardown on", () => {
    const conf = parse({ ...KUBE_FLANNEL, ipam: { dataDir: "/x", routes: [], ranges: [] } });
    expect(JSON.parse(delegateBytes(buildReleaseConfig(conf)).toString())).toEqual({
      cniVersion: "0.3.1",
      hairpinMode: true,
      ipMasq: true,
      ipam: { dataDir: "/x", ranges: [[{ subnet: "192.0.2.0/24" }]], type: "host-local" },
      isDefaultGateway: true,
      isGateway: true,
      name: "cbr0",
      type: "bridge",
    });
  });
});
