import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainTeardownLines, parseSavedTable } from "../../shared/net/iptables.js";
import { parseIfAddress } from "./address.js";
import { type PortmapConf, readPortMappings } from "./config.js";
import {
  addLines,
  chainName,
  checkProblems,
  containerRules,
  containersOf,
  missingSharedChains,
  quoteArg,
} from "./iptables-rules.js";

const fixture = (name: string) => parseSavedTable(readFileSync(join(__dirname, "testdata", name), "utf8"), "nat");

function conf(over: Partial<PortmapConf> = {}): PortmapConf {
  return {
    name: "obsnet",
    snat: true,
    masqAll: false,
    markMasqBit: 13,
    conditionsV4: [],
    conditionsV6: [],
    backend: "iptables",
    mappings: readPortMappings({
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: "tcp" },
        { HostPort: 8081, ContainerPort: 81, Protocol: "UDP", HostIP: "10.99.0.1" },
        { hostPort: 8082, containerPort: 82, protocol: "tcp", hostIP: "fd99:0::1" },
      ],
    }),
    ...over,
  };
}
const v4 = parseIfAddress("10.99.0.2/24")!;
const v6 = parseIfAddress("fd99::2/64")!;
const CHAIN = "CNI-DN-197c9d57a402ba29a6bcd";

describe("iptables rules in the reference plugin's exact form", () => {
  it("names the chain CNI-DN- + the first 21 hex digits of sha512(network + containerID)", () => {
    expect(chainName("DN-", "obsnet", "ctr1")).toBe(CHAIN);
    expect(chainName("SN-", "obsnet", "ctr1")).toHaveLength(28);
  });

  it("writes the per-container chain exactly as Debian's portmap left it (v4 and v6)", () => {
    for (const [addr, file] of [
      [v4, "reference-obsnet-v4.save"],
      [v6, "reference-obsnet-v6.save"],
    ] as const) {
      const ref = fixture(file).rules.filter((r) => r.startsWith(`-A ${CHAIN} `));
      expect(containerRules(conf(), CHAIN, addr)).toEqual(ref);
    }
  });

  it("CHECK accepts the reference's rules and names what is missing", () => {
    expect(checkProblems(fixture("reference-obsnet-v4.save"), conf(), "ctr1", v4)).toEqual([]);
    expect(checkProblems(fixture("reference-obsnet-v6.save"), conf(), "ctr1", v6)).toEqual([]);
    const t = fixture("reference-obsnet-v4.save");
    t.rules = t.rules.filter((r) => !r.includes("--to-destination 10.99.0.2:80"));
    expect(checkProblems(t, conf(), "ctr1", v4)).toEqual([
      `rule "-A ${CHAIN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.99.0.2:80" not found in table nat`,
    ]);
    expect(checkProblems(t, conf(), "other", v4)[0]).toMatch(/^chain CNI-DN-\w+ not found/);
  });

  it("DEL deletes the entry rules, then flushes and removes the chain", () => {
    const lines = chainTeardownLines(fixture("reference-obsnet-v4.save"), [CHAIN, chainName("SN-", "obsnet", "ctr1")]);
    expect(lines).toEqual([
      `-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"obsnet\\" id: \\"ctr1\\"" -m multiport --dports 8080,8082 -j ${CHAIN}`,
      `-D CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"obsnet\\" id: \\"ctr1\\"" -m multiport --dports 8081 -j ${CHAIN}`,
      `-F ${CHAIN}`,
      `-X ${CHAIN}`,
    ]);
    expect(chainTeardownLines(fixture("reference-obsnet-v4.save"), ["CNI-DN-absent"])).toEqual([]);
  });

  it("ADD on an empty table creates every chain; on the reference's state only replaces the container's rules", () => {
    const empty = parseSavedTable("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", "nat");
    expect(missingSharedChains(empty, conf())).toEqual([
      "CNI-HOSTPORT-SETMARK",
      "CNI-HOSTPORT-MASQ",
      "CNI-HOSTPORT-DNAT",
    ]);
    expect(missingSharedChains(empty, conf({ snat: false }))).toEqual(["CNI-HOSTPORT-DNAT"]);
    const fresh = addLines(empty, conf(), "ctr1", v4);
    // Only the container's own chain is declared: declaring a shared one would flush it.
    expect(fresh.filter((l) => l.startsWith(":"))).toEqual([`:${CHAIN} - [0:0]`]);
    expect(fresh).toContain(
      '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    );
    const again = addLines(fixture("reference-obsnet-v4.save"), conf(), "ctr1", v4);
    expect(again.filter((l) => l.startsWith(":"))).toEqual([`:${CHAIN} - [0:0]`]);
    expect(again.filter((l) => l.startsWith("-D ")).length).toBe(2);
    expect(again.some((l) => / (PREROUTING|OUTPUT|POSTROUTING|CNI-HOSTPORT-MASQ|CNI-HOSTPORT-SETMARK) /.test(l))).toBe(
      false,
    );
    expect(again.filter((l) => l.startsWith(`-I CNI-HOSTPORT-DNAT 1 `))).toEqual(
      [
        `-I CNI-HOSTPORT-DNAT 1 -p tcp -m comment --comment "dnat name: \\"obsnet\\" id: \\"ctr1\\"" -m multiport --dports 8080,8082 -j ${CHAIN}`,
        `-I CNI-HOSTPORT-DNAT 1 -p udp -m comment --comment "dnat name: \\"obsnet\\" id: \\"ctr1\\"" -m multiport --dports 8081 -j ${CHAIN}`,
      ].reverse(),
    );
  });

  it("honours snat, masqAll, markMasqBit, externalSetMarkChain and conditions", () => {
    expect(containerRules(conf({ snat: false }), CHAIN, v4)).toEqual([
      `-A ${CHAIN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.99.0.2:80`,
      `-A ${CHAIN} -d 10.99.0.1/32 -p udp -m udp --dport 8081 -j DNAT --to-destination 10.99.0.2:81`,
    ]);
    expect(containerRules(conf({ masqAll: true }), CHAIN, v4)[0]).toBe(
      `-A ${CHAIN} -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
    );
    expect(containerRules(conf({ externalSetMarkChain: "KUBE-MARK-MASQ" }), CHAIN, v4)[0]).toMatch(
      /-j KUBE-MARK-MASQ$/,
    );
    const bit0 = addLines(parseSavedTable("", "nat"), conf({ markMasqBit: 0 }), "ctr1", v4);
    expect(bit0).toContain("-A CNI-HOSTPORT-MASQ -m mark --mark 0x1/0x1 -j MASQUERADE");
    const ext = addLines(parseSavedTable("", "nat"), conf({ externalSetMarkChain: "KUBE-MARK-MASQ" }), "ctr1", v4);
    expect(ext.some((l) => l.includes("CNI-HOSTPORT-SETMARK") || l.includes("CNI-HOSTPORT-MASQ"))).toBe(false);
    const cond = addLines(parseSavedTable("", "nat"), conf({ conditionsV4: ["!", "-d", "192.0.2.0/24"] }), "ctr1", v4);
    expect(cond.find((l) => l.includes("--dports 8081"))).toMatch(/--dports 8081 ! -d 192\.0\.2\.0\/24 -j /);
  });

  it("splits multiport lists at 15 ports", () => {
    const many = conf({
      mappings: Array.from({ length: 17 }, (_, i) => ({
        hostPort: 9000 + i,
        containerPort: 80,
        protocol: "tcp" as const,
        hostIP: "",
      })),
    });
    const entries = addLines(parseSavedTable("", "nat"), many, "c", v4).filter((l) => l.includes("--dports"));
    expect(entries.map((l) => /--dports (\S+)/.exec(l)![1]!.split(",").length).sort()).toEqual([15, 2]);
  });

  it("finds a network's containers by the entry rules' comments (GC)", () => {
    expect([...containersOf(fixture("reference-obsnet-v4.save"), "obsnet")]).toEqual([["ctr1", CHAIN]]);
    expect(containersOf(fixture("reference-obsnet-v4.save"), "othernet").size).toBe(0);
  });

  it("quotes restore arguments only when needed", () => {
    expect(quoteArg("-d")).toBe("-d");
    expect(quoteArg('a "b"')).toBe('"a \\"b\\""');
  });
});
