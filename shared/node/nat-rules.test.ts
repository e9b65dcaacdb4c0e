import { describe, expect, it } from "vitest";
import { parseNatRules, parseNftRules } from "./nat-rules.js";

describe("parseNatRules", () => {
  it("finds bridge's masquerade and portmap's hostPort rules by their comments, once per container", () => {
    const save = [
      "*nat",
      ":CNI-0123456789abcdef01234567 - [0:0]",
      '-A POSTROUTING -s 10.244.1.5/32 -m comment --comment "name: \\"cbr0\\" id: \\"abc\\"" -j CNI-0123456789abcdef01234567',
      '-A CNI-0123456789abcdef01234567 -d 10.244.1.0/24 -m comment --comment "name: \\"cbr0\\" id: \\"abc\\"" -j ACCEPT',
      '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"def\\"" -m multiport --dports 8080 -j CNI-DN-x',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      "COMMIT",
    ].join("\n");
    expect(parseNatRules(save)).toEqual([
      { network: "cbr0", containerId: "abc", kind: "masquerade" },
      { network: "cbr0", containerId: "def", kind: "hostPort" },
    ]);
  });
});

describe("parseNftRules", () => {
  it("reads bridge's masquerade comments (unless cut) and portmap's container-ID comments", () => {
    const rule = (table: string, comment: string, chain = "c") => ({
      rule: { family: "inet", table, chain, handle: 4, comment, expr: [] },
    });
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: "1.0.6" } },
        rule("cni_plugins_masquerade", "0123456789abcdef-0123456789abcdef, net: cbr0, if: eth0, id: abc"),
        rule(
          "cni_plugins_masquerade",
          `0123456789abcdef-0123456789abcdef, net: cbr0, if: eth0, id: ${"x".repeat(100)}`.slice(0, 128),
        ),
        rule("cni_hostport", "def"),
        rule("cni_hostport", "cni-ts portmap: drop martian traffic to 127.0.0.0/8 (route_localnet)", "localnet_guard"),
        rule("other", "ghi"),
      ],
    });
    expect(parseNftRules(json)).toEqual([
      { network: "cbr0", containerId: "abc", kind: "masquerade" },
      { network: "", containerId: "def", kind: "hostPort" },
    ]);
    expect(parseNftRules("not json")).toEqual([]);
    const guard = {
      rule: {
        family: "ip",
        table: "cni_hostport",
        chain: "localnet_guard",
        handle: 9,
        comment: "cni-ts portmap: drop martian traffic",
        expr: [],
      },
    };
    expect(parseNftRules(JSON.stringify({ nftables: [guard] }))).toEqual([]);
  });
});
