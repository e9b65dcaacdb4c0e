import { describe, expect, it } from "vitest";
import { parseCidr } from "../../shared/net/ip.js";
import { chainTeardownLines, parseSavedTable } from "../../shared/net/iptables.js";
import { iptablesContainersOf, iptablesMissingRules, iptablesSetupLines } from "./masq-iptables.js";

/** `iptables-save -t nat` after Debian's bridge 1.1.1 ADD (network masqnet, container refcid1). */
const REFERENCE_SAVE = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-f0f8ede036b89110ee8dc9f6 - [0:0]
-A POSTROUTING -s 10.99.1.2/32 -m comment --comment "name: \\"masqnet\\" id: \\"refcid1\\"" -j CNI-f0f8ede036b89110ee8dc9f6
-A CNI-f0f8ede036b89110ee8dc9f6 -d 10.99.1.0/24 -m comment --comment "name: \\"masqnet\\" id: \\"refcid1\\"" -j ACCEPT
-A CNI-f0f8ede036b89110ee8dc9f6 ! -d 224.0.0.0/4 -m comment --comment "name: \\"masqnet\\" id: \\"refcid1\\"" -j MASQUERADE
COMMIT
`;
const EMPTY = parseSavedTable("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n", "nat");

describe("iptables masquerade rules", () => {
  it("firewall-reload: nothing missing when the reference's rules are there; everything after a flush", () => {
    const ip = [parseCidr("10.99.1.2/24")!];
    expect(iptablesMissingRules(parseSavedTable(REFERENCE_SAVE, "nat"), "masqnet", "refcid1", ip)).toEqual([]);
    const flushed = parseSavedTable(
      "*nat\n:POSTROUTING ACCEPT [0:0]\n:CNI-f0f8ede036b89110ee8dc9f6 - [0:0]\nCOMMIT\n",
      "nat",
    );
    const missing = iptablesMissingRules(flushed, "masqnet", "refcid1", ip);
    expect(missing).toHaveLength(3);
    expect(new Set(missing)).toEqual(new Set(parseSavedTable(REFERENCE_SAVE, "nat").rules));
  });

  it("setup writes exactly the rules the reference has, in iptables-save's own form", () => {
    const saved = parseSavedTable(REFERENCE_SAVE, "nat");
    const lines = iptablesSetupLines(EMPTY, "masqnet", "refcid1", [parseCidr("10.99.1.2/24")!]);
    expect(lines[0]).toBe(":CNI-f0f8ede036b89110ee8dc9f6 - [0:0]");
    expect(new Set(lines.slice(1))).toEqual(new Set(saved.rules));
  });

  it("setup does not append the POSTROUTING jump twice", () => {
    const saved = parseSavedTable(REFERENCE_SAVE, "nat");
    const lines = iptablesSetupLines(saved, "masqnet", "refcid1", [parseCidr("10.99.1.2/24")!]);
    expect(lines.filter((l) => l.startsWith("-A POSTROUTING"))).toEqual([]);
  });

  it("IPv6 uses /128 and ff00::/8", () => {
    const lines = iptablesSetupLines(EMPTY, "n", "c", [parseCidr("fd99::2/64")!]);
    expect(lines.some((l) => l.includes("! -d ff00::/8"))).toBe(true);
    expect(lines.some((l) => l.startsWith("-A POSTROUTING -s fd99::2/128 "))).toBe(true);
    expect(lines.some((l) => l.includes("-d fd99::/64 "))).toBe(true);
  });

  it("teardown needs no address: it deletes every jump to the chain, then flushes and deletes it", () => {
    const saved = parseSavedTable(REFERENCE_SAVE, "nat");
    expect(chainTeardownLines(saved, ["CNI-f0f8ede036b89110ee8dc9f6"])).toEqual([
      '-D POSTROUTING -s 10.99.1.2/32 -m comment --comment "name: \\"masqnet\\" id: \\"refcid1\\"" -j CNI-f0f8ede036b89110ee8dc9f6',
      "-F CNI-f0f8ede036b89110ee8dc9f6",
      "-X CNI-f0f8ede036b89110ee8dc9f6",
    ]);
    expect(chainTeardownLines(EMPTY, ["CNI-f0f8ede036b89110ee8dc9f6"])).toEqual([]);
  });

  it("finds the containers of a network from the rule comments (for GC)", () => {
    const saved = parseSavedTable(REFERENCE_SAVE, "nat");
    expect([...iptablesContainersOf(saved, "masqnet")]).toEqual(["refcid1"]);
    expect([...iptablesContainersOf(saved, "other")]).toEqual([]);
  });
});
