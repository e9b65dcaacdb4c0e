import { describe, expect, it } from "vitest";
import { parseLink } from "../../shared/net/ip-json.js";
import { loadBridgeConf } from "./config.js";
import { planHost, planPortVlans } from "./host-plan.js";
import { planPod, podSysctls, routeOp } from "./pod-plan.js";
import { ipLine } from "../../shared/net/kernel.js";
import { invocationOf } from "../../conformance-tests/lib/unit/invocation.js";

const conf = (c: Record<string, unknown>) => loadBridgeConf(invocationOf(c));
const noAddrs = { del: [], add: [], notes: [] };
const base = {
  veth: "veth01234567",
  ifname: "eth0",
  netns: "/var/run/netns/p",
  gwIface: "cni0",
  newVlanGwPeer: undefined,
  newBridgeMac: undefined,
};

describe("planHost", () => {
  it("a fresh node: bridge, veth pair straight into the pod netns, port flags, gateway address (one batch)", () => {
    const p = planHost({
      ...base,
      conf: conf({ mtu: 1450, isGateway: true, hairpinMode: true }),
      bridge: undefined,
      newBridgeMac: "02:00:00:00:00:01",
      addrs: { del: [], add: ["10.244.1.1/24"], notes: [] },
    });
    expect(p.steps.map((s) => ipLine(s.op))).toEqual([
      "link add cni0 address 02:00:00:00:00:01 mtu 1450 type bridge",
      "link set cni0 up",
      "link add veth01234567 mtu 1450 txqlen 0 type veth peer name eth0 mtu 1450 txqlen 0 netns /var/run/netns/p",
      "link set veth01234567 master cni0",
      "link set veth01234567 type bridge_slave hairpin on isolated off",
      "link set veth01234567 up",
      "addr add 10.244.1.1/24 dev cni0",
    ]);
    expect(p.vethStep).toBe(2);
    // Each step carries upstream's message for its failure.
    expect(p.steps.map((s) => s.fail?.("file exists").message)).toEqual([
      'failed to create bridge "cni0": could not add "cni0": file exists',
      'failed to set up bridge "cni0": link set cni0 up: file exists',
      "failed to make veth pair: file exists",
      'failed to connect "veth01234567" to bridge cni0: file exists',
      "failed to setup hairpin mode for veth01234567: file exists",
      'failed to set up bridge "cni0": link set veth01234567 up: file exists',
      'failed to set bridge addr: could not add IP address 10.244.1.1/24 to "cni0": file exists',
    ]);
    expect(p.steps[6]!.tolerate?.test("Address already assigned")).toBe(true);
  });

  it("an existing bridge: MTU reconciled, promisc on, old address replaced, MAC pinned; pod MAC requested", () => {
    const bridge = parseLink({
      ifname: "cni0",
      mtu: 1500,
      address: "0a:00:00:00:00:09",
      flags: [],
      linkinfo: { info_kind: "bridge" },
    });
    const p = planHost({
      ...base,
      conf: conf({ mtu: 1450, isGateway: true, promiscMode: true, runtimeConfig: { mac: "0a:58:00:00:00:01" } }),
      bridge,
      addrs: { del: ["10.244.7.1/24"], add: ["10.244.1.1/24"], notes: ["n"] },
    });
    expect(p.steps.map((s) => ipLine(s.op))).toEqual([
      "link set cni0 mtu 1450",
      "link set cni0 promisc on",
      "link set cni0 up",
      "link add veth01234567 mtu 1450 txqlen 0 type veth peer name eth0 mtu 1450 txqlen 0 address 0a:58:00:00:00:01 netns /var/run/netns/p",
      "link set veth01234567 master cni0",
      "link set veth01234567 type bridge_slave hairpin off isolated off",
      "link set veth01234567 up",
      "addr del 10.244.7.1/24 dev cni0",
      "addr add 10.244.1.1/24 dev cni0",
      "link set cni0 address 0a:00:00:00:00:09",
    ]);
    expect(p.notes).toEqual(['bridge: "cni0" had MTU 1500, set to the configured 1450', "n"]);
  });

  it("vlan filtering at creation and port VLANs for access and trunk ports", () => {
    const c = conf({ vlan: 100 });
    expect(ipLine(planHost({ ...base, conf: c, bridge: undefined, addrs: noAddrs }).steps[0]!.op)).toBe(
      "link add cni0 type bridge vlan_filtering 1",
    );
    expect(planPortVlans(c, "vethA")).toEqual([
      "vlan del dev vethA vid 1",
      "vlan add dev vethA vid 100 pvid untagged master",
    ]);
    expect(planPortVlans(conf({ vlanTrunk: [{ id: 5 }], preserveDefaultVlan: true }), "vethA")).toEqual([
      "vlan add dev vethA vid 5 master",
    ]);
    expect(planPortVlans(conf({}), "vethA")).toEqual([]);
  });
});

describe("pod plan", () => {
  it("sysctls: IPv6 enabled before v6 addresses, DAD off unless enabledad, arp_notify", () => {
    expect(podSysctls("eth0", [{ address: "10.0.0.2/24" }], false)).toEqual([
      ["net/ipv6/conf/eth0/accept_dad", "0"],
      ["net/ipv4/conf/eth0/arp_notify", "1"],
    ]);
    expect(podSysctls("eth0", [{ address: "fd00::2/64" }], true).map(([k, v]) => `${k}=${v}`)).toEqual([
      "net/ipv6/conf/lo/disable_ipv6=0",
      "net/ipv6/conf/eth0/disable_ipv6=0",
      "net/ipv6/conf/eth0/keep_addr_on_down=1",
      "net/ipv6/conf/eth0/enhanced_dad=1",
      "net/ipv6/conf/eth0/accept_dad=1",
      "net/ipv4/conf/eth0/arp_notify=1",
    ]);
  });

  it("addresses, up, routes via the family's first gateway, then the MAC", () => {
    const steps = planPod(
      "eth0",
      [
        { address: "10.0.0.2/24", gateway: "10.0.0.1" },
        { address: "fd00::2/64", gateway: "fd00::1" },
      ],
      [
        { dst: "10.0.0.0/8" },
        { dst: "::/0" },
        { dst: "192.168.0.0/16", gw: "10.0.0.254", priority: 5, table: 100, scope: 0, mtu: 1400, advmss: 1360 },
      ],
      true,
    );
    expect(steps.map((s) => ipLine(s.op))).toEqual([
      "addr add 10.0.0.2/24 dev eth0",
      "addr add fd00::2/64 dev eth0",
      "link set eth0 up",
      "route append 10.0.0.0/8 via 10.0.0.1 dev eth0",
      "route append ::/0 via fd00::1 dev eth0",
      "route append 192.168.0.0/16 via 10.0.0.254 dev eth0 metric 5 table 100 scope 0 mtu 1400 advmss 1360",
    ]);
    expect(ipLine(routeOp({ dst: "10.9.0.0/16" }, "eth0", undefined))).toBe("route append 10.9.0.0/16 dev eth0");
    expect(steps[0]!.fail!("file exists").message).toBe('failed to add IP addr 10.0.0.2/24 to "eth0": file exists');
    expect(steps[2]!.fail!("no such device").message).toBe('failed to set "eth0" UP: no such device');
    expect(steps[5]!.fail!("network is unreachable").message).toBe(
      "failed to add route '192.168.0.0/16 via 10.0.0.254 dev eth0 metric 5 table 100 scope 0 mtu 1400 advmss 1360': network is unreachable",
    );
  });
});
