import { describe, expect, it } from "vitest";
import { diff, formatVerdict, judge } from "./compare.js";

describe("diff", () => {
  it("reports nothing for equal values", () => {
    expect(diff({ a: [1, { b: "x" }], c: null }, { a: [1, { b: "x" }], c: null })).toEqual([]);
  });

  it("names the path of a changed leaf, a missing key and an extra key", () => {
    expect(diff({ links: { eth0: { mtu: 1500 } }, x: 1 }, { links: { eth0: { mtu: 1400 } }, y: 2 })).toEqual([
      { path: "links.eth0.mtu", reference: 1500, ours: 1400 },
      { path: "x", reference: 1, ours: undefined },
      { path: "y", reference: undefined, ours: 2 },
    ]);
  });

  it("compares arrays of primitives as multisets (order-free, duplicates count)", () => {
    expect(diff(["r1", "r2"], ["r2", "r1"])).toEqual([]);
    expect(diff(["r1", "r1"], ["r1", "r3"], "routes")).toEqual([
      { path: "routes[-]", reference: "r1", ours: undefined },
      { path: "routes[+]", reference: undefined, ours: "r3" },
    ]);
  });

  it("compares arrays of objects index by index", () => {
    expect(diff([{ a: 1 }], [{ a: 2 }, { a: 3 }], "ips")).toEqual([
      { path: "ips[0].a", reference: 1, ours: 2 },
      { path: "ips[1]", reference: undefined, ours: { a: 3 } },
    ]);
  });

  it("treats a type change as one difference", () => {
    expect(diff({ a: [1] }, { a: { 0: 1 } })).toEqual([{ path: "a", reference: [1], ours: { 0: 1 } }]);
  });
});

describe("judge", () => {
  const diffs = [
    { path: "add.state.node.links.br.mtu", reference: 1500, ours: 1450 },
    { path: "add.outcome.result.dns", reference: {}, ours: undefined },
  ];

  it("splits differences into allowed (with the reason) and unexplained", () => {
    const v = judge(diffs, [{ path: /\.mtu$/, reason: "we follow the flannel MTU" }]);
    expect(v.allowed).toEqual([{ difference: diffs[0], reason: "we follow the flannel MTU" }]);
    expect(v.unexplained).toEqual([diffs[1]]);
    expect(v.unused).toEqual([]);
  });

  it("matches string paths exactly and lists allowances that matched nothing", () => {
    const stale = { path: "add.state.node.links.br", reason: "prefix is not enough" };
    const v = judge(diffs, [stale]);
    expect(v.unexplained).toHaveLength(2);
    expect(v.unused).toEqual([stale]);
    expect(formatVerdict(v)).toContain("matched nothing");
  });
});
