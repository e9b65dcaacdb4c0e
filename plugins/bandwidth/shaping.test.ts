import { describe, expect, it } from "vitest";
import { judgeShaping, planShaping, shapingLines, showLines } from "./shaping.js";

const tick = 15.625;
const both = planShaping(
  { ingress: { rateBits: 1_000_000, burstBits: 100_000 }, egress: { rateBits: 2_000_000, burstBits: 200_000 } },
  "veth1",
  "bwp0123456789ab",
  tick,
);

describe("tc layout", () => {
  it("puts ingress on the veth's root and egress behind a redirect to the ifb", () => {
    expect(shapingLines(both)).toEqual([
      "qdisc replace dev veth1 root handle 1: tbf rate 125000bps burst 12500 limit 15625",
      "qdisc replace dev veth1 handle ffff: ingress",
      "filter replace dev veth1 parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 classid 1:1 action mirred egress redirect dev bwp0123456789ab",
      "qdisc replace dev bwp0123456789ab root handle 1: tbf rate 250000bps burst 25000 limit 31250",
    ]);
  });

  it("makes no ifb for ingress-only shaping", () => {
    const plan = planShaping({ ingress: { rateBits: 1_000_000, burstBits: 100_000 } }, "veth1", "bwpx", tick);
    expect(plan.ifb).toBeUndefined();
    expect(shapingLines(plan)).toHaveLength(1);
    expect(showLines(plan)).toEqual(["qdisc show dev veth1"]);
  });
});

describe("CHECK's judgement", () => {
  const tbf = (rate: number, raw: string, limit: number) => ({ kind: "tbf", handle: "1:", root: true, options: { rate, burst_raw: raw, limit } });
  const redirect = { kind: "u32", options: { actions: [{ kind: "mirred", mirred_action: "redirect", to_dev: "bwp0123456789ab" }] } };
  const good = [[tbf(125000, "17d784", 15625), { kind: "ingress" }], [redirect], [tbf(250000, "17d784", 31250)]];

  it("passes what ADD made", () => {
    expect(judgeShaping(both, good)).toEqual([]);
  });

  it("names each difference", () => {
    expect(judgeShaping(both, [[tbf(125001, "17d784", 15625), { kind: "ingress" }], [redirect], [tbf(250000, "17d785", 31250)]])).toEqual([
      "Rate doesn't match on veth1 (125001 != 125000 bytes/s)",
      "Buffer doesn't match on bwp0123456789ab (1562501 != 1562500 ticks)",
    ]);
    expect(judgeShaping(both, [[], [], []])).toEqual([
      "Failed to find qdisc: no root tbf on veth1",
      "no ingress qdisc on veth1",
      "no filter on veth1 redirects to bwp0123456789ab",
      "Failed to find qdisc: no root tbf on bwp0123456789ab",
    ]);
  });
});
