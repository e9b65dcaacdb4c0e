import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalizeRangeSet } from "../../../ipam/host-local/range.js";
import { parseCidr, parseIp } from "../../net/ip.js";
import { exposition } from "./exposition.js";
import { allocatable } from "./network-pools.js";
import { addReclaimed } from "../../../ipam/host-local/reclaimed-count.js";
import { nodeMetrics } from "../metrics.js";
import type { MetricFamily } from "./exposition.js";

describe("metrics parts", () => {
  it("a range's size excludes its gateway only when the gateway lies inside it", () => {
    const set = (subnet: string, extra: Record<string, string> = {}) =>
      canonicalizeRangeSet([
        { subnet: parseCidr(subnet)!, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, parseIp(v)!])) },
      ]);
    expect(allocatable(set("10.0.0.0/24"))).toBe(253n);
    expect(allocatable(set("10.0.0.0/24", { rangeStart: "10.0.0.10", rangeEnd: "10.0.0.19" }))).toBe(10n);
    expect(allocatable(set("fd00::/120"))).toBe(254n);
  });

  it("leaked follows the leak definition of one namespace scan; an incomplete scan reports no leaked figure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "metrics-"));
    try {
      const dataDir = join(dir, "data");
      mkdirSync(join(dir, "conf"));
      writeFileSync(
        join(dir, "conf", "10-n.conflist"),
        JSON.stringify({
          cniVersion: "1.0.0",
          name: "n",
          plugins: [{ type: "bridge", ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.9.0.0/24" }]] } }],
        }),
      );
      mkdirSync(join(dataDir, "n"), { recursive: true });
      const old = new Date(Date.now() - 3600_000);
      for (const [ip, owner] of [
        ["10.9.0.2", "held"],
        ["10.9.0.3", "dead"],
        ["10.9.0.4", "young"],
      ] as const) {
        writeFileSync(join(dataDir, "n", ip), `${owner}\r\neth0`);
        if (owner !== "young") utimesSync(join(dataDir, "n", ip), old, old);
      }
      addReclaimed(join(dataDir, "n"), 7);
      const scan = { addresses: new Set(["10.9.0.2"]), namespaces: 1, failures: [] as string[], startedAt: Date.now() };
      const value = (families: MetricFamily[], name: string) =>
        families.find((f) => f.name === name)?.samples.find((x) => x.labels.family !== "ipv6")?.value;

      const complete = await nodeMetrics(join(dir, "conf"), join(dir, "cache"), 60_000, scan);
      expect(value(complete, "cni_ts_ipam_allocated")).toBe(3);
      expect(value(complete, "cni_ts_ipam_leaked")).toBe(1);
      expect(value(complete, "cni_ts_ipam_reclaimed_total")).toBe(7);
      expect(value(complete, "cni_ts_leak_scan_complete")).toBe(1);

      const incomplete = await nodeMetrics(join(dir, "conf"), join(dir, "cache"), 60_000, {
        ...scan,
        failures: ["/proc/1/ns/net: EACCES"],
      });
      expect(value(incomplete, "cni_ts_ipam_leaked")).toBeUndefined();
      expect(value(incomplete, "cni_ts_leak_scan_complete")).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("escapes label values and help text as the format requires", () => {
    const text = exposition([
      { name: "m", type: "gauge", help: "a \\ b\nc", samples: [{ labels: { l: 'x"y\\z\nw' }, value: 2n ** 64n }] },
    ]);
    expect(text).toBe('# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{l="x\\"y\\\\z\\nw"} 18446744073709551616\n');
  });
});
