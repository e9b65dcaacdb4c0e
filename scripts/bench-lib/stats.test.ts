import { describe, expect, it } from "vitest";
import { median, percentile, ratio, summarize } from "./stats.js";

describe("bench statistics", () => {
  it("takes the middle sample, or the mean of the two middle ones", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it("uses nearest-rank percentiles, so p95 of 20 samples is the 19th smallest", () => {
    const samples = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentile(samples, 95)).toBe(19);
    expect(percentile(samples, 100)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
  });

  it("counts failures but summarises only successful samples", () => {
    const s = summarize([10, 30, 20], 5);
    expect(s).toMatchObject({ ok: 3, n: 5, median: 20, min: 10, max: 30 });
    expect(summarize([], 2)).toMatchObject({ ok: 0, n: 2, median: null, p95: null });
  });

  it("gives no ratio when a side is missing", () => {
    expect(ratio(30, 20)).toBe(1.5);
    expect(ratio(null, 20)).toBeNull();
    expect(ratio(3, 0)).toBeNull();
  });
});
