import { describe, expect, it } from "vitest";
import { canonicalizeRangeSet } from "../../../ipam/host-local/range.js";
import { parseCidr, parseIp } from "../../net/ip.js";
import { exposition } from "./exposition.js";
import { holderIndex, isLeaked } from "./leaked-fallback.js";
import { allocatable } from "./network-pools.js";
import type { CachedAttachment, Liveness } from "../cached-attachments.js";

describe("metrics parts", () => {
  it("a range's size excludes its gateway only when the gateway lies inside it", () => {
    const set = (subnet: string, extra: Record<string, string> = {}) =>
      canonicalizeRangeSet([{ subnet: parseCidr(subnet)!, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, parseIp(v)!])) }]);
    expect(allocatable(set("10.0.0.0/24"))).toBe(253n);
    expect(allocatable(set("10.0.0.0/24", { rangeStart: "10.0.0.10", rangeEnd: "10.0.0.19" }))).toBe(10n);
    expect(allocatable(set("fd00::/120"))).toBe(254n);
  });

  it("leaked: no owner, no matching cached attachment, or its namespace gone", () => {
    const att = (containerId: string, ifname: string, liveness: Liveness) => ({ network: "n", containerId, ifname, liveness }) as CachedAttachment & { liveness: Liveness };
    const holders = holderIndex([att("live", "eth0", "live"), att("gone", "eth0", "gone"), att("unk", "eth0", "unknown")]);
    expect(isLeaked("n", "live\r\neth0", holders)).toBe(false);
    expect(isLeaked("n", "unk\r\neth0", holders)).toBe(false);
    expect(isLeaked("n", "gone\r\neth0", holders)).toBe(true);
    expect(isLeaked("n", "live\r\neth1", holders)).toBe(true);
    expect(isLeaked("other", "live\r\neth0", holders)).toBe(true);
    expect(isLeaked("n", "live", holders)).toBe(false); // legacy: container ID only
    expect(isLeaked("n", "", holders)).toBe(true);
  });

  it("escapes label values and help text as the format requires", () => {
    const text = exposition([{ name: "m", type: "gauge", help: "a \\ b\nc", samples: [{ labels: { l: 'x"y\\z\nw' }, value: 2n ** 64n }] }]);
    expect(text).toBe('# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{l="x\\"y\\\\z\\nw"} 18446744073709551616\n');
  });
});
