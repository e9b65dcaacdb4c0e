import { describe, expect, it } from "vitest";
import {
  iptablesChainName,
  iptablesComment,
  nftComment,
  nftInstanceHash,
  nftNetworkHash,
  NFT_COMMENT_MAX,
} from "./masq-names.js";

describe("masquerade names (compatible with upstream)", () => {
  it("iptables chain and comment as Debian's bridge 1.1.1 made them for network masqnet, container refcid1", () => {
    // Captured from `iptables-save -t nat` after /usr/lib/cni/bridge ADD (ipMasq: true).
    expect(iptablesChainName("masqnet", "refcid1")).toBe("CNI-f0f8ede036b89110ee8dc9f6");
    expect(iptablesComment("masqnet", "refcid1")).toBe('name: "masqnet" id: "refcid1"');
  });

  it("nftables hashes are 16 hex digits of sha512 (checked against sha512sum)", () => {
    expect(nftNetworkHash("masqnet")).toBe("edc77be78e948c55");
    expect(nftInstanceHash("masqnet", "eth0", "refcid1")).toBe("edc77be78e948c55-8980f0d1e62b09bf");
    expect(nftComment("masqnet", "eth0", "refcid1")).toBe(
      "edc77be78e948c55-8980f0d1e62b09bf, net: masqnet, if: eth0, id: refcid1",
    );
  });

  it("nftables comments are cut at knftables' maximum", () => {
    const c = nftComment("net", "eth0", "x".repeat(200));
    expect(c).toHaveLength(NFT_COMMENT_MAX);
    expect(c.startsWith(nftInstanceHash("net", "eth0", "x".repeat(200)))).toBe(true);
  });
});
