import * as z from "zod/mini";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";

const AddrInfoSchema = z.looseObject({ family: z.string(), local: z.string(), prefixlen: z.number() });
const LinkSchema = z.looseObject({
  ifname: z.string(),
  flags: z.optional(z.array(z.string())),
  addr_info: z.optional(z.array(AddrInfoSchema)),
});

export interface LoopbackLink {
  up: boolean;
  /** Addresses as CIDRs in the kernel's order, by family. */
  v4: string[];
  v6: string[];
}

/** Finds `lo` in the JSON arrays printed by `ip -j -batch` (link or addr show). */
export function parseLoopbackLink(arrays: readonly unknown[][]): LoopbackLink {
  for (const entry of arrays.flat()) {
    const parsed = LinkSchema.safeParse(entry);
    if (!parsed.success || parsed.data.ifname !== "lo") continue;
    const addrs = parsed.data.addr_info ?? [];
    const cidrs = (family: string) => addrs.filter((a) => a.family === family).map((a) => `${a.local}/${a.prefixlen}`);
    return { up: (parsed.data.flags ?? []).includes("UP"), v4: cidrs("inet"), v6: cidrs("inet6") };
  }
  throw new CniError(ErrorCode.Internal, "no lo interface found in the namespace", "ip did not list lo; is CNI_NETNS a network namespace?");
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
