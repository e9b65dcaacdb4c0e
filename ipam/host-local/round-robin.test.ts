import { describe, expect, it } from "vitest";
import { formatIp, parseCidr, parseIp } from "../../shared/net/ip.js";
import { canonicalizeRangeSet, type RangeInput } from "./range.js";
import { roundRobin } from "./round-robin.js";

function set(...specs: Array<[string, string?, string?, string?]>) {
  return canonicalizeRangeSet(
    specs.map(([subnet, rangeStart, rangeEnd, gateway]): RangeInput => ({
      subnet: parseCidr(subnet)!,
      rangeStart: rangeStart ? parseIp(rangeStart) : undefined,
      rangeEnd: rangeEnd ? parseIp(rangeEnd) : undefined,
      gateway: gateway ? parseIp(gateway) : undefined,
    })),
  );
}

const order = (s: ReturnType<typeof set>, last?: string) =>
  [...roundRobin(s, last ? parseIp(last) : undefined)].map((c) => formatIp(c.ip));

describe("roundRobin (upstream RangeIter)", () => {
  it("starts at rangeStart = subnet+1 and skips the default gateway", () => {
    expect(order(set(["10.0.0.0/29"]))).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
  });

  it("offers .1 when the gateway is elsewhere", () => {
    expect(order(set(["10.0.0.0/29", undefined, undefined, "10.0.0.6"]))).toEqual([
      "10.0.0.1",
      "10.0.0.2",
      "10.0.0.3",
      "10.0.0.4",
      "10.0.0.5",
    ]);
  });

  it("continues after the last reserved address and offers it last", () => {
    expect(order(set(["10.0.0.0/29"]), "10.0.0.4")).toEqual([
      "10.0.0.5",
      "10.0.0.6",
      "10.0.0.2",
      "10.0.0.3",
      "10.0.0.4",
    ]);
  });

  it("ignores a last reserved address outside the set", () => {
    expect(order(set(["10.0.0.0/29"]), "10.9.9.9")[0]).toBe("10.0.0.2");
  });

  it("wraps across the ranges of a set", () => {
    const s = set(["10.0.0.0/29", "10.0.0.4", "10.0.0.5"], ["10.0.1.0/29", "10.0.1.2", "10.0.1.3"]);
    expect(order(s)).toEqual(["10.0.0.4", "10.0.0.5", "10.0.1.2", "10.0.1.3"]);
    expect(order(s, "10.0.1.2")).toEqual(["10.0.1.3", "10.0.0.4", "10.0.0.5", "10.0.1.2"]);
    expect(order(s, "10.0.0.5")).toEqual(["10.0.1.2", "10.0.1.3", "10.0.0.4", "10.0.0.5"]);
  });

  it("skips the gateway when it is the first candidate after the last one", () => {
    expect(order(set(["10.0.0.0/29"]), "10.0.0.6")).toEqual([
      "10.0.0.2",
      "10.0.0.3",
      "10.0.0.4",
      "10.0.0.5",
      "10.0.0.6",
    ]);
  });

  it("walks IPv6 ranges up to the all-ones address", () => {
    const s = set(["fd00::/125"]);
    expect(order(s)).toEqual(["fd00::2", "fd00::3", "fd00::4", "fd00::5", "fd00::6", "fd00::7"]);
    const big: string[] = [];
    for (const c of roundRobin(set(["fd00::/64"]), parseIp("fd00::ffff:ffff:ffff:fffe"))) {
      big.push(formatIp(c.ip));
      if (big.length === 3) break;
    }
    expect(big).toEqual(["fd00::ffff:ffff:ffff:ffff", "fd00::2", "fd00::3"]);
  });

  it("yields nothing but the range itself when it holds only the gateway", () => {
    expect(order(set(["10.0.0.0/30", "10.0.0.1", "10.0.0.1"]))).toEqual([]);
  });
});
