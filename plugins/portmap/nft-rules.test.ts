import { describe, expect, it } from "vitest";
import { parseIfAddress } from "./address.js";
import { type PortmapConf, readPortMappings } from "./config.js";
import { addLines, checkProblems, deleteLines, parseRules, parseTables } from "./nft-rules.js";

const conf = (over: Partial<PortmapConf> = {}): PortmapConf => ({
  name: "n",
  snat: true,
  masqAll: false,
  markMasqBit: 13,
  conditionsV4: [],
  conditionsV6: [],
  backend: "nftables",
  mappings: readPortMappings({
    portMappings: [
      { hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostPort: 8083, containerPort: 83, protocol: "sctp", hostIP: "192.168.0.2" },
      { hostPort: 8085, containerPort: 85, protocol: "tcp", hostIP: "2001:db8:a::1" },
    ],
  }),
  ...over,
});

describe("nftables rules in the upstream layout", () => {
  it("adds the table, base chains and one rule per mapping commented with the container ID", () => {
    const lines = addLines(conf(), "cid1", parseIfAddress("10.0.0.2/24")!);
    expect(lines).toContain('add table ip cni_hostport { comment "CNI portmap plugin" ; }');
    expect(lines).toContain("add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }");
    expect(lines).toContain("add rule ip cni_hostport prerouting fib daddr type local jump hostports");
    expect(lines).toContain('add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.0.0.2:80 comment "cid1"');
    expect(lines).toContain(
      'add rule ip cni_hostport hostip_hostports ip daddr 192.168.0.2 sctp dport 8083 dnat to 10.0.0.2:83 comment "cid1"',
    );
    expect(lines).toContain(
      'add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "cid1"',
    );
    expect(lines.some((l) => l.includes("8085"))).toBe(false);
  });

  it("writes v6 targets in brackets, conditions in front of the jumps, and masqAll for DNATed traffic only", () => {
    const lines = addLines(
      conf({ conditionsV6: ["ip6", "saddr", "!=", "fd00::9"], masqAll: true }),
      "cid1",
      parseIfAddress("2001:db8::2/64")!,
    );
    expect(lines).toContain(
      'add rule ip6 cni_hostport hostip_hostports ip6 daddr 2001:db8:a::1 tcp dport 8085 dnat to [2001:db8::2]:85 comment "cid1"',
    );
    expect(lines).toContain(
      "add rule ip6 cni_hostport output ip6 saddr != fd00::9 fib daddr type local jump hostports",
    );
    expect(lines.filter((l) => l.includes("masquerading ") && l.startsWith("add rule"))).toEqual([
      'add rule ip6 cni_hostport masquerading ct status dnat ip6 daddr 2001:db8::2 masquerade comment "cid1"',
    ]);
    expect(
      addLines(conf({ snat: false }), "c", parseIfAddress("10.0.0.2/24")!).some((l) => l.includes("masquerad")),
    ).toBe(false);
  });

  const listing = JSON.stringify({
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { table: { family: "ip", name: "cni_hostport", handle: 3 } },
      { rule: { family: "ip", table: "cni_hostport", chain: "hostports", handle: 10, comment: "cid1", expr: [] } },
      {
        rule: { family: "ip", table: "cni_hostport", chain: "hostip_hostports", handle: 11, comment: "cid1", expr: [] },
      },
      { rule: { family: "ip", table: "cni_hostport", chain: "hostports", handle: 12, comment: "cid2", expr: [] } },
      { rule: { family: "ip", table: "cni_hostport", chain: "masquerading", handle: 13, comment: "cid1", expr: [] } },
      { rule: { family: "ip", table: "cni_hostport", chain: "masquerading", handle: 14, comment: "cid1", expr: [] } },
      { rule: { family: "ip", table: "cni_hostport", chain: "prerouting", handle: 4, expr: [] } },
      { rule: { family: "ip", table: "cni_hostport", chain: "prerouting", handle: 5, expr: [] } },
      { rule: { family: "ip", table: "cni_hostport", chain: "output", handle: 6, expr: [] } },
      { rule: { family: "ip", table: "cni_hostport", chain: "output", handle: 7, expr: [] } },
    ],
  });

  it("deletes exactly the container's rules by handle", () => {
    expect(deleteLines(parseRules(listing), (c) => c === "cid1")).toEqual([
      "delete rule ip cni_hostport hostports handle 10",
      "delete rule ip cni_hostport hostip_hostports handle 11",
      "delete rule ip cni_hostport masquerading handle 13",
      "delete rule ip cni_hostport masquerading handle 14",
    ]);
    expect(parseTables(listing)).toEqual(["ip"]);
  });

  it("CHECK counts the container's rules per chain", () => {
    const v4 = parseIfAddress("10.0.0.2/24")!;
    expect(checkProblems(parseRules(listing), conf(), "cid1", v4)).toEqual([]);
    expect(checkProblems(parseRules(listing), conf(), "cid2", v4)).toEqual([
      'missing hostport rules in "hostip_hostports" chain of ip cni_hostport (0 of 1)',
      'missing hostport rules in "masquerading" chain of ip cni_hostport (0 of 2)',
    ]);
  });

  it("CHECK notices base chains that lost their jumps (a flushed prerouting or output chain)", () => {
    const v4 = parseIfAddress("10.0.0.2/24")!;
    const flushed = parseRules(listing).filter((r) => r.chain !== "output");
    expect(checkProblems(flushed, conf(), "cid1", v4)).toEqual([
      'missing jumps in "output" chain of ip cni_hostport (0 of 2)',
    ]);
  });
});
