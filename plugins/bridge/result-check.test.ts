import { describe, expect, it } from "vitest";
import { formatResult, type Result } from "../../shared/cni/result.js";
import { parseLink, parseRoute } from "../../shared/net/ip-json.js";
import { compare } from "./check.js";
import { loadBridgeConf } from "./config.js";
import { calcGateways } from "./gateways.js";
import { assembleResult } from "./result.js";
import { invocationOf } from "../../conformance-tests/lib/unit/invocation.js";

const flannel = {
  bridge: "cni0",
  mtu: 1450,
  isGateway: true,
  isDefaultGateway: true,
  hairpinMode: true,
  ipam: { type: "host-local" },
};

function result(version = "0.3.1"): Result {
  const inv = invocationOf({ ...flannel, cniVersion: version });
  const conf = loadBridgeConf(inv);
  const gws = calcGateways([{ address: "10.244.1.2/24", gateway: "10.244.1.1" }], [{ dst: "10.244.0.0/16" }], conf);
  return assembleResult({
    inv,
    conf,
    veth: "veth1a2b3c4d",
    vlanGwIface: undefined,
    pod: parseLink({ ifname: "eth0", address: "aa:bb:cc:00:00:03" }),
    gws,
    ipamDns: {},
    hostLinks: new Map([
      ["cni0", { address: "aa:bb:cc:00:00:01" }],
      ["veth1a2b3c4d", { address: "aa:bb:cc:00:00:02" }],
    ]),
  });
}

describe("assembleResult", () => {
  it("prints the reference's 0.3.1 worked example (§2.6) byte for byte", () => {
    const r = result("0.3.1");
    expect(JSON.parse(formatResult(r, "0.3.1"))).toEqual({
      cniVersion: "0.3.1",
      interfaces: [
        { name: "cni0", mac: "aa:bb:cc:00:00:01" },
        { name: "veth1a2b3c4d", mac: "aa:bb:cc:00:00:02" },
        { name: "eth0", mac: "aa:bb:cc:00:00:03", sandbox: "/var/run/netns/pod1" },
      ],
      ips: [{ version: "4", interface: 2, address: "10.244.1.2/24", gateway: "10.244.1.1" }],
      routes: [{ dst: "10.244.0.0/16" }, { dst: "0.0.0.0/0", gw: "10.244.1.1" }],
      dns: {},
    });
  });

  it("config DNS replaces IPAM's", () => {
    const inv = invocationOf({ dns: { nameservers: ["10.96.0.10"] } });
    const conf = loadBridgeConf(inv);
    const r = assembleResult({
      inv,
      conf,
      veth: "v",
      vlanGwIface: undefined,
      pod: parseLink({}),
      gws: { ips: [], routes: [], bridgeAddrs: { 4: [], 6: [] } },
      ipamDns: { domain: "x" },
      hostLinks: new Map(),
    });
    expect(r.dns).toEqual({ nameservers: ["10.96.0.10"] });
  });
});

describe("CHECK's comparison", () => {
  const conf = loadBridgeConf(invocationOf(flannel));
  const prev = result("1.0.0");
  const bridge = parseLink({
    ifindex: 2,
    ifname: "cni0",
    mtu: 1450,
    address: "aa:bb:cc:00:00:01",
    flags: ["UP"],
    linkinfo: { info_kind: "bridge" },
  });
  const port = (hairpin: boolean, mtu = 1450) =>
    parseLink({
      ifindex: 7,
      ifname: "veth1a2b3c4d",
      mtu,
      master: "cni0",
      linkinfo: { info_kind: "veth", info_slave_kind: "bridge", info_slave_data: { hairpin, isolated: false } },
    });
  const pod = (mtu = 1450) =>
    parseLink({
      ifindex: 2,
      link_index: 7,
      ifname: "eth0",
      mtu,
      address: "aa:bb:cc:00:00:03",
      flags: ["UP"],
      linkinfo: { info_kind: "veth" },
      addr_info: [{ family: "inet", local: "10.244.1.2", prefixlen: 24 }],
    });
  const routes = [
    parseRoute({ dst: "10.244.0.0/16", gateway: "10.244.1.1" }),
    parseRoute({ dst: "default", gateway: "10.244.1.1" }),
  ];

  it("finds nothing on a healthy pod", () => {
    expect(compare(conf, prev, { bridge, port: port(true) }, { link: pod(), routes }, "eth0")).toEqual([]);
  });

  it("names every difference", () => {
    const diffs = compare(
      conf,
      prev,
      { bridge, port: port(false, 1500) },
      { link: pod(1300), routes: routes.slice(1) },
      "eth0",
    );
    expect(diffs).toEqual([
      "eth0 has MTU 1300, config says 1450",
      "hairpin is off on veth1a2b3c4d, config says hairpinMode true",
      "veth1a2b3c4d has MTU 1500, config says 1450",
      "Expected Route 10.244.0.0/16 not found in routing table",
    ]);
  });

  it("a missing bridge, pod interface or port says so in upstream's words", () => {
    expect(compare(conf, prev, { bridge: undefined, port: undefined }, { link: pod(), routes }, "eth0")).toEqual([
      "CNI created bridge cni0 in host namespace was not found",
    ]);
    expect(compare(conf, prev, { bridge, port: undefined }, { link: undefined, routes: [] }, "eth0")).toEqual([
      "CNI created interface in container eth0 not found",
    ]);
    expect(compare(conf, prev, { bridge, port: undefined }, { link: pod(), routes }, "eth0")).toEqual([
      "CNI veth created for bridge cni0 was not found",
    ]);
  });
});
