import { describe, expect, it } from "vitest";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { loadIpamConfig, loadStoreLocation } from "./config.js";
import { formatIp } from "../../shared/net/ip.js";
import { setToString } from "./range.js";

const none = new Map<string, string>();
const load = (ipam: unknown, extra: Record<string, unknown> = {}, args = none) =>
  loadIpamConfig({ cniVersion: "1.0.0", name: "net", ipam, ...extra }, args);

describe("loadIpamConfig", () => {
  it("fills upstream's defaults (rangeStart subnet+1, rangeEnd broadcast-1 / all ones, gateway subnet+1)", () => {
    const c = load({ ranges: [[{ subnet: "10.244.1.0/24" }], [{ subnet: "fd00::/64" }]] });
    expect(c.rangeSets.map(setToString)).toEqual(["10.244.1.1-10.244.1.254", "fd00::1-fd00::ffff:ffff:ffff:ffff"]);
    expect(formatIp(c.rangeSets[0]![0]!.gateway)).toBe("10.244.1.1");
    expect(c.dataDir).toBe("/var/lib/cni/networks");
  });

  it("orders range sets runtimeConfig.ipRanges, legacy subnet, ranges", () => {
    const c = load(
      { subnet: "10.1.0.0/24", ranges: [[{ subnet: "10.2.0.0/24" }]] },
      { runtimeConfig: { ipRanges: [[{ subnet: "10.3.0.0/24" }]] } },
    );
    expect(c.rangeSets.map((s) => setToString(s).split("-")[0])).toEqual(["10.3.0.1", "10.1.0.1", "10.2.0.1"]);
  });

  it("matches keys case-insensitively like Go", () => {
    const c = load({ Ranges: [[{ Subnet: "10.0.0.0/24", RANGESTART: "10.0.0.10" }]], DataDir: "/tmp/x" });
    expect(setToString(c.rangeSets[0]!)).toBe("10.0.0.10-10.0.0.254");
    expect(c.dataDir).toBe("/tmp/x");
  });

  it("matches every key it reads as Go does, from the top level down", () => {
    const c = loadIpamConfig(
      {
        CNIVersion: "1.0.0",
        Name: "net",
        IPAM: {
          Type: "host-local",
          Subnet: "10.5.0.0/24",
          Routes: [{ Dst: "0.0.0.0/0", GW: "10.5.0.1" }],
          ResolvConf: "/r",
        },
        RuntimeConfig: { IPRanges: [[{ SUBNET: "10.6.0.0/24" }]], IPs: ["10.6.0.9"] },
        Args: { CNI: { IPS: ["10.5.0.7"] } },
      },
      none,
    );
    expect(c.name).toBe("net");
    expect(c.rangeSets.map((s) => setToString(s).split("-")[0])).toEqual(["10.6.0.1", "10.5.0.1"]);
    expect(c.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.5.0.1" }]);
    expect(c.resolvConf).toBe("/r");
    expect(c.requested.map(formatIp)).toEqual(["10.5.0.7", "10.6.0.9"]);
    expect(loadStoreLocation({ Name: "n", IPAM: { DATADIR: "/y" } })).toEqual({ name: "n", dataDir: "/y" });
  });

  it("collects requested IPs from CNI_ARGS, args and runtimeConfig, deduplicated", () => {
    const c = load(
      { ranges: [[{ subnet: "10.0.0.0/24" }]] },
      { args: { cni: { ips: ["10.0.0.6", "10.0.0.5"] } }, runtimeConfig: { ips: ["10.0.0.7/24"] } },
      new Map([["IP", "10.0.0.5"]]),
    );
    expect(c.requested.map(formatIp)).toEqual(["10.0.0.5", "10.0.0.6", "10.0.0.7"]);
  });

  it("normalizes routes as Go prints them", () => {
    const c = load({
      ranges: [[{ subnet: "10.0.0.0/24" }]],
      routes: [{ dst: "FC00::/48" }, { dst: "0.0.0.0/0", gw: "10.0.0.1" }],
    });
    expect(c.routes).toEqual([{ dst: "fc00::/48" }, { dst: "0.0.0.0/0", gw: "10.0.0.1" }]);
  });

  it.each([
    [{}, /^no IP ranges specified$/],
    [{ ranges: [[]] }, /^invalid range set 0: empty range set/],
    [{ ranges: [[{ subnet: "10.0.0.0/33" }]] }, /invalid CIDR address: 10.0.0.0\/33 \(ipam.ranges\[0\]\[0\].subnet\)/],
    [
      { ranges: [[{ subnet: "10.0.0.1/24" }]] },
      /^invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0 \(ipam.ranges\[0\]\[0\].subnet\)$/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/31" }]] },
      /^invalid range set 0: Network 10.0.0.0\/31 too small to allocate from/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24", rangeStart: "10.0.1.5" }]] },
      /^invalid range set 0: RangeStart 10.0.1.5 not in network 10.0.0.0\/24 \(ipam.ranges\[0\]\[0\].rangeStart\)$/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.50", rangeEnd: "10.0.0.20" }]] },
      /^invalid range set 0: RangeStart 10.0.0.50 not in network 10.0.0.0\/24: it is after RangeEnd 10.0.0.20 \(ipam.ranges\[0\]\[0\].rangeStart\)$/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24", gateway: "10.9.0.1" }]] },
      /Gateway 10.9.0.1 not in network 10.0.0.0\/24 \(ipam.ranges\[0\]\[0\].gateway\)/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.x" }]] },
      /invalid IP address: 10.0.0.x \(ipam.ranges\[0\]\[0\].rangeStart\)/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24" }, { subnet: "fd00::/64" }]] },
      /^invalid range set 0: mixed address families \(ipam.ranges\[0\]\[1\].subnet\)$/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24" }, { subnet: "10.0.0.0/25" }]] },
      /^invalid range set 0: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap/,
    ],
    [
      { ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.100" }]] },
      /^range set 0 overlaps with 1$/,
    ],
    [{ ranges: [[{ subnet: 10 }]] }, /ranges.0.0.subnet/],
  ])("rejects %j with code 7", (ipam, message) => {
    const e = cniErrorOf(() => load(ipam));
    expect(e.code).toBe(7);
    expect(e.message).toMatch(message);
  });

  it("accepts an IPv6 link-local gateway outside the subnet", () => {
    const c = load({ ranges: [[{ subnet: "fd00::/64", gateway: "fe80::1" }]] });
    expect(formatIp(c.rangeSets[0]![0]!.gateway)).toBe("fe80::1");
  });

  it("requires the ipam key, also for the store location DEL and GC use", () => {
    expect(cniErrorOf(() => loadIpamConfig({ name: "n" }, none)).message).toBe("IPAM config missing 'ipam' key");
    expect(cniErrorOf(() => loadStoreLocation({ name: "n" })).code).toBe(7);
    expect(loadStoreLocation({ name: "n", ipam: { DataDir: "/x" } })).toEqual({ name: "n", dataDir: "/x" });
    // A dataDir of the wrong type is refused instead of falling back to the node's default store.
    for (const dataDir of [123, true, ["/x"], { a: 1 }]) {
      expect(cniErrorOf(() => loadStoreLocation({ name: "n", ipam: { type: "host-local", dataDir } })).code).toBe(7);
    }
  });

  it("refuses two sets of one family before 0.3.0", () => {
    const e = cniErrorOf(() =>
      loadIpamConfig(
        {
          cniVersion: "0.2.0",
          name: "n",
          ipam: { ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.1.0.0/24" }]] },
        },
        none,
      ),
    );
    expect(e.message).toBe("CNI version 0.2.0 does not support more than 1 address per family");
  });

  it("rejects unparsable requested IPs naming where they came from", () => {
    const e = cniErrorOf(() => load({ ranges: [[{ subnet: "10.0.0.0/24" }]] }, { runtimeConfig: { ips: ["nope"] } }));
    expect(e.message).toBe("cannot understand ip: invalid IP address: nope (runtimeConfig.ips[0])");
  });
});
