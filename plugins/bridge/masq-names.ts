/*
 * Names and comments of the masquerade rules, identical to upstream's so that either
 * implementation finds and removes the other's rules.
 */
import { sha512Hex } from "../../shared/sys/crypto-lite.js";

/** iptables chain: "CNI-" + the first 24 hex digits of sha512(name + containerID) (28 chars). */
export function iptablesChainName(network: string, containerId: string): string {
  return `CNI-${sha512Hex(network + containerId)}`.slice(0, 28);
}

/** iptables comment: Go's `name: %q id: %q`. */
export function iptablesComment(network: string, containerId: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerId)}`;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** nftables: 16 hex digits of sha512(network). */
export function nftNetworkHash(network: string): string {
  return sha512Hex(network).slice(0, 16);
}

/** nftables: network hash + "-" + 16 hex digits of sha512(ifname + ":" + containerID). */
export function nftInstanceHash(network: string, ifname: string, containerId: string): string {
  return `${nftNetworkHash(network)}-${sha512Hex(`${ifname}:${containerId}`).slice(0, 16)}`;
}

/** knftables' maximum comment length. */
export const NFT_COMMENT_MAX = 128;

/** nftables rule comment: instance hash, then a readable (possibly truncated) description. */
export function nftComment(network: string, ifname: string, containerId: string): string {
  const strip = (s: string) => s.replaceAll('"', "");
  const text = `${nftInstanceHash(network, ifname, containerId)}, net: ${strip(network)}, if: ${strip(ifname)}, id: ${strip(containerId)}`;
  return text.slice(0, NFT_COMMENT_MAX);
}

/** macspoofchk: the per-attachment id used in chain names and comments (containerID-ifname). */
export function spoofCheckId(containerId: string, ifname: string): string {
  return `${containerId}-${ifname}`;
}
