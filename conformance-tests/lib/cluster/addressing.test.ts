import { describe, expect, it } from "vitest";
import { formatCidr, hostAddress, nodeSubnet, parseCidr, parseClusterCidr, underlayFor } from "./addressing.js";
import { flannelMtu, forwardRules, peerLines, subnetEnvText } from "./flanneld.js";

describe("sandbox cluster addressing", () => {
  it("leases the index-th /24 of the cluster network, k3s's as well as kube-flannel's", () => {
    expect(formatCidr(nodeSubnet(parseCidr("10.244.0.0/16"), 1))).toBe("10.244.1.0/24");
    expect(formatCidr(nodeSubnet(parseCidr("10.42.0.0/16"), 2))).toBe("10.42.2.0/24");
    expect(formatCidr(nodeSubnet(parseCidr("10.0.16.0/20"), 15))).toBe("10.0.31.0/24");
    expect(() => nodeSubnet(parseCidr("10.0.16.0/20"), 16)).toThrow(/outside/);
  });

  it("masks host bits and rejects what is not an IPv4 CIDR or too small for node subnets", () => {
    expect(formatCidr(parseCidr("10.244.7.9/16"))).toBe("10.244.0.0/16");
    expect(() => parseCidr("10.244.0.0")).toThrow(/not an IPv4 CIDR/);
    expect(() => parseCidr("10.256.0.0/16")).toThrow(/not an IPv4 address/);
    expect(() => parseClusterCidr("10.244.0.0/24")).toThrow(/too small/);
  });

  it("picks an underlay /24 in 192.168.200-249 from the run id, outside the usual cluster networks", () => {
    const u = underlayFor("abcdef12");
    const [a, b, c] = hostAddress(u, 0).split(".").map(Number);
    expect([a, b, u.prefix]).toEqual([192, 168, 24]);
    expect(c).toBeGreaterThanOrEqual(200);
    expect(c).toBeLessThanOrEqual(249);
    expect(underlayFor("abcdef12")).toEqual(u);
  });
});

describe("flanneld's part", () => {
  const cluster = parseCidr("10.244.0.0/16");
  const subnet = nodeSubnet(cluster, 3);

  it("writes subnet.env as flanneld does (gateway address in FLANNEL_SUBNET, MTU per backend)", () => {
    expect(subnetEnvText(cluster, subnet, "vxlan")).toBe(
      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
    expect(flannelMtu("host-gw")).toBe(1500);
  });

  it("routes a vxlan peer via its VTEP address onlink, with a permanent neighbour and an fdb entry to its node", () => {
    const peer = { netns: "x", subnet, underlayIp: "192.168.201.2", vtepMac: "02:00:00:00:00:03" };
    expect(peerLines("vxlan", peer, "add")).toEqual({
      ip: [
        "neighbor replace 10.244.3.0 lladdr 02:00:00:00:00:03 dev flannel.1 nud permanent",
        "route replace 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink",
      ],
      fdb: ["fdb replace 02:00:00:00:00:03 dev flannel.1 dst 192.168.201.2 self permanent"],
    });
    expect(peerLines("host-gw", peer, "add")).toEqual({
      ip: ["route replace 10.244.3.0/24 via 192.168.201.2 dev eth0"],
      fdb: [],
    });
  });

  it("accepts forwarding from and to the cluster network behind a DROP policy", () => {
    const rules = forwardRules(cluster);
    expect(rules).toContain(":FORWARD DROP");
    expect(rules).toContain('-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
    expect(rules).toContain('-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
  });
});
