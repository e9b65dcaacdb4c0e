import { describe, expect, it } from "vitest";
import { canonical, firstHost, formatCidr, networkOf, overlaps, parseCidr } from "./ip.js";
import { batchReason, failedLine } from "./batch.js";
import { parseSavedTable, quoteComment, ruleComment, ruleTarget } from "./iptables.js";
import { parseLink, parseRoute } from "./ip-json.js";
import { parseNftJson } from "./nft.js";

describe("cidr", () => {
  it("masks, +1, overlap and Go's printing", () => {
    const c = parseCidr("10.244.1.7/24")!;
    expect(formatCidr(networkOf(c))).toBe("10.244.1.0/24");
    expect(formatCidr(firstHost(c))).toBe("10.244.1.1/24");
    expect(formatCidr(firstHost(parseCidr("fd00:0:0:1::9/64")!))).toBe("fd00:0:0:1::1/64");
    expect(overlaps(parseCidr("fd00::/48")!, parseCidr("fd00:0:0:5::1/64")!)).toBe(true);
    expect(overlaps(parseCidr("fd01::1/64")!, parseCidr("fd02::1/64")!)).toBe(false);
    expect(overlaps(parseCidr("10.0.0.1/8")!, parseCidr("fd00::1/8")!)).toBe(false);
    expect(canonical("FD00:0::1/64")).toBe("fd00::1/64");
    expect(parseCidr("10.0.0.1")).toBeUndefined();
    expect(parseCidr("10.0.0.1/33")).toBeUndefined();
  });
});

describe("ip -batch failures", () => {
  it("finds the failed line and the errno text as Go prints it", () => {
    const stderr = "RTNETLINK answers: File exists\nCommand failed -:3\n";
    expect(failedLine(stderr)).toBe(2);
    expect(batchReason(stderr)).toBe("file exists");
    expect(batchReason("Error: ipv4: Address already assigned.\nCommand failed -:1\n")).toBe(
      "ipv4: Address already assigned.",
    );
    expect(failedLine("no marker")).toBeUndefined();
  });
});

describe("iptables-save parsing", () => {
  const text =
    '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n:CNI-x - [0:0]\n-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"n\\" id: \\"c\\"" -j CNI-x\nCOMMIT\n';
  it("reads one table's chains and rules", () => {
    const t = parseSavedTable(text, "nat");
    expect([...t.chains]).toEqual(["POSTROUTING", "CNI-x"]);
    expect(t.rules).toHaveLength(1);
    expect(ruleTarget(t.rules[0]!)).toBe("CNI-x");
    expect(ruleComment(t.rules[0]!)).toBe('name: "n" id: "c"');
    expect(quoteComment('name: "n" id: "c"')).toBe('"name: \\"n\\" id: \\"c\\""');
  });
});

describe("ip and nft JSON", () => {
  it("reads bridge port flags, veth peers and route families", () => {
    const l = parseLink({
      ifindex: 5,
      link_index: 2,
      ifname: "v",
      flags: ["UP", "PROMISC"],
      linkinfo: { info_kind: "veth", info_slave_kind: "bridge", info_slave_data: { hairpin: true, isolated: false } },
      addr_info: [{ family: "inet6", local: "fd00::1", prefixlen: 64, tentative: true }],
    });
    expect(l).toMatchObject({ linkIndex: 2, promisc: true, kind: "veth", port: { hairpin: true, isolated: false } });
    expect(l.addrs[0]).toMatchObject({ family: 6, tentative: true });
    expect(parseRoute({ dst: "default", gateway: "fd00::1" }).family).toBe(6);
    expect(parseRoute({ dst: "default", gateway: "10.0.0.1" }).family).toBe(4);
  });
  it("reads rule handles, comments and jump targets", () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { chain: { name: "c" } },
        { rule: { chain: "c", handle: 4, comment: "x", expr: [{ jump: { target: "t" } }] } },
      ],
    });
    expect(parseNftJson(json).rules).toEqual([{ chain: "c", handle: 4, comment: "x", jumpTarget: "t" }]);
  });
});

describe("ip -batch guard", () => {
  it("refuses lines whose names ip would reinterpret, before starting ip", async () => {
    const { ipBatch } = await import("./batch.js");
    for (const name of ["a#b", 'a"b', "a'b", "a\\b"]) {
      expect(() => ipBatch([`link del dev ${name}`])).toThrow(/refusing to pass/);
    }
  });
});
