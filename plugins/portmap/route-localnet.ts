import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { ensureSysctl } from "../../shared/net/sysctl.js";

/**
 * The interface the node routes `ip` (IPv4) through, by longest prefix then lowest metric over
 * the main table in /proc/self/net/route (no process). undefined when no route matches.
 */
export function routeInterface(
  ip: string,
  routeTable = readFileSync("/proc/self/net/route", "utf8"),
): string | undefined {
  const target = toU32(ip);
  let best: { iface: string; bits: number; metric: number } | undefined;
  for (const line of routeTable.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface = "", dst = "", , flags = "0", , , metric = "0", mask = ""] = f;
    if ((parseInt(flags, 16) & 1) === 0) continue;
    const m = hexToU32(mask);
    if ((target & m) >>> 0 !== hexToU32(dst)) continue;
    const bits = popcount(m);
    const met = Number(metric);
    if (!best || bits > best.bits || (bits === best.bits && met < best.metric)) best = { iface, bits, metric: met };
  }
  return best?.iface;
}

function toU32(ip: string): number {
  return ip.split(".").reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

/** /proc/net/route prints addresses as host-order hex of the network-order bytes. */
function hexToU32(hex: string): number {
  const n = parseInt(hex, 16) >>> 0;
  if (endianness() === "BE") return n;
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}

/**
 * Lets 127.0.0.0/8 sources cross a routing boundary on the interface towards the container, so
 * DNAT of connections to localhost:hostPort works (upstream does the same). Returns the interface.
 */
export function enableRouteLocalnet(containerIp: string): string | undefined {
  const iface = routeInterface(containerIp);
  if (!iface || iface.includes("/") || iface === "." || iface === "..") return undefined;
  return ensureSysctl(`net/ipv4/conf/${iface}/route_localnet`, "1") ? iface : undefined;
}
