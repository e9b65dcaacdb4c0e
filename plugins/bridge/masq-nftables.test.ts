import { describe, expect, it } from "vitest";
import { parseCidr } from "../../shared/net/ip.js";
import { nftDeleteScript, nftSetupScript } from "./masq-nftables.js";

describe("nftables masquerade script", () => {
  it("creates table and chains, refills postrouting, replaces stale rules, one rule per address", () => {
    const script = nftSetupScript([{ chain: "masq_checks", handle: 9 }], "masqnet", "eth0", "refcid1", [
      parseCidr("10.99.1.2/24")!,
      parseCidr("fd99::2/64")!,
    ]);
    const lines = script.trim().split("\n");
    expect(lines.slice(0, 3).every((l) => l.startsWith("add table") || l.startsWith("add chain"))).toBe(true);
    expect(lines).toContain("flush chain inet cni_plugins_masquerade postrouting");
    expect(lines).toContain("add rule inet cni_plugins_masquerade postrouting goto masq_checks");
    expect(lines).toContain("delete rule inet cni_plugins_masquerade masq_checks handle 9");
    const comment = '"edc77be78e948c55-8980f0d1e62b09bf, net: masqnet, if: eth0, id: refcid1"';
    expect(lines).toContain(
      `add rule inet cni_plugins_masquerade masq_checks ip saddr == 10.99.1.2 ip daddr != 10.99.1.0/24 masquerade comment ${comment}`,
    );
    expect(lines).toContain(
      `add rule inet cni_plugins_masquerade masq_checks ip6 saddr == fd99::2 ip6 daddr != fd99::/64 masquerade comment ${comment}`,
    );
    expect(lines.indexOf("delete rule inet cni_plugins_masquerade masq_checks handle 9")).toBeLessThan(
      lines.length - 2,
    );
  });

  it("deletes by handle", () => {
    expect(
      nftDeleteScript([
        { chain: "masq_checks", handle: 3 },
        { chain: "masq_checks", handle: 4 },
      ]),
    ).toBe(
      "delete rule inet cni_plugins_masquerade masq_checks handle 3\ndelete rule inet cni_plugins_masquerade masq_checks handle 4\n",
    );
  });
});
