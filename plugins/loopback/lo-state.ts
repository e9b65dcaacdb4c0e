import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { LinkInfo } from "../../shared/net/ip-json.js";

export interface LoopbackLink {
  up: boolean;
  /** Addresses as CIDRs in the kernel's order, by family. */
  v4: string[];
  v6: string[];
}

/** The pod's `lo` as the kernel layer read it (with its addresses when asked for them). */
export function loopbackOf(link: LinkInfo | undefined): LoopbackLink {
  if (!link || link.ifname !== "lo") {
    throw new CniError(
      ErrorCode.Internal,
      "no lo interface found in the namespace",
      "the kernel did not list lo; is CNI_NETNS a network namespace?",
    );
  }
  const cidrs = (family: 4 | 6) =>
    link.addrs.filter((a) => a.family === family).map((a) => `${a.local}/${a.prefixlen}`);
  return { up: link.flags.includes("UP"), v4: cidrs(4), v6: cidrs(6) };
}

function isLoopbackAddress(cidr: string): boolean {
  const ip = cidr.split("/")[0] ?? "";
  if (ip.includes(":")) return ip === "::1";
  return ip.startsWith("127.");
}

/** The first v4 and first v6 address of lo; any non-loopback address is an error, as upstream. */
export function loopbackAddresses(lo: LoopbackLink): { v4?: string; v6?: string } {
  for (const cidr of [...lo.v4, ...lo.v6]) {
    if (!isLoopbackAddress(cidr)) {
      const ip = cidr.split("/")[0] ?? cidr;
      throw new CniError(
        ErrorCode.Internal,
        `loopback interface found with non-loopback address "${ip}"`,
        "remove that address from lo in the pod namespace (ip addr del … dev lo)",
      );
    }
  }
  return { v4: lo.v4[0], v6: lo.v6[0] };
}
