import { describe, expect, it } from "vitest";
import { parseSavedTable } from "../../shared/net/iptables.js";
import { IPTABLES_GUARD, iptablesNeedsGuard, nftGuardLines, nftHasGuard, nftNeedsGuard } from "./localnet-guard.js";
import { parseRules } from "./nft-rules.js";

describe("localnet guard", () => {
  it("is kube-proxy's drop rule for 127.0.0.0/8 not from the node, in iptables-save form", () => {
    expect(IPTABLES_GUARD).toMatch(
      /^-A INPUT ! -s 127\.0\.0\.0\/8 -d 127\.0\.0\.0\/8 ! -i lo .* -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP$/,
    );
    expect(nftGuardLines().at(-1)).toMatch(
      /iifname != "lo" ip saddr != 127\.0\.0\.0\/8 ip daddr 127\.0\.0\.0\/8 ct state != \{ established, related \} ct status & dnat == 0 counter drop/,
    );
  });

  it("is needed while some IPv4 host port is forwarded (any network), not after", () => {
    const nat = (rules: string[]) =>
      parseSavedTable(`*nat\n:CNI-HOSTPORT-DNAT - [0:0]\n${rules.join("\n")}\nCOMMIT\n`, "nat");
    const entry =
      '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net\\" id: \\"c1\\"" -m multiport --dports 80 -j CNI-DN-abc';
    expect(iptablesNeedsGuard(nat([entry]))).toBe(true);
    expect(iptablesNeedsGuard(nat(["-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT"]))).toBe(false);
    const listing = (rules: Array<{ chain: string; comment?: string }>) =>
      parseRules(
        JSON.stringify({
          nftables: rules.map((r, i) => ({
            rule: { family: "ip", table: "cni_hostport", handle: i + 1, expr: [], ...r },
          })),
        }),
      );
    const guard = {
      chain: "localnet_guard",
      comment: "cni-ts portmap: drop martian traffic to 127.0.0.0/8 (route_localnet)",
    };
    expect(nftNeedsGuard(listing([{ chain: "hostports", comment: "c1" }, guard]))).toBe(true);
    expect(nftNeedsGuard(listing([{ chain: "prerouting" }, guard]))).toBe(false);
    expect(nftHasGuard(listing([guard]))).toBe(true);
    expect(nftHasGuard(listing([{ chain: "hostports", comment: "c1" }]))).toBe(false);
  });
});
