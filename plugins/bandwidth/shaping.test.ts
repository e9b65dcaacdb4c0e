import { describe, expect, it } from "vitest";
import { tcLine } from "../../shared/net/kernel.js";
import { kernelTicks } from "./tbf-params.js";
import { judgeShaping, planShaping, shapingLines, shapingOps, showLines } from "./shaping.js";

const tick = 15.625;
const both = planShaping(
  { ingress: { rateBits: 1_000_000, burstBits: 100_000 }, egress: { rateBits: 2_000_000, burstBits: 200_000 } },
  "veth1",
  "bwp0123456789ab",
  tick,
);

describe("tc layout", () => {
  it("puts ingress on the veth's root and egress behind a redirect to the ifb", () => {
    expect(shapingLines(both).map((s) => s.line)).toEqual([
      "qdisc replace dev veth1 root handle 1: tbf rate 125000bps burst 12500 limit 15625",
      "qdisc replace dev veth1 handle ffff: ingress",
      "filter replace dev veth1 parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 classid 1:1 action mirred egress redirect dev bwp0123456789ab",
      "qdisc replace dev bwp0123456789ab root handle 1: tbf rate 250000bps burst 25000 limit 31250",
    ]);
  });

  it("plans the same changes as typed steps (the burst in bytes and the kernel's ticks for it); none for an htb", () => {
    const ops = shapingOps(both)!;
    expect(ops.map(tcLine)).toEqual(shapingLines(both).map((s) => s.line));
    expect(ops[0]).toEqual({
      op: "tbf-replace",
      dev: "veth1",
      rate: 125_000,
      burst: 12_500,
      limit: 15_625,
      buffer: kernelTicks(125_000, 12_500),
    });
    const htb = planShaping(
      { ingress: { rateBits: 1_000_000, burstBits: 100_000 }, subnets: { only: false, cidrs: ["10.0.0.0/8"] } },
      "veth1",
      "bwpx",
      tick,
    );
    expect(shapingOps(htb)).toBeUndefined();
  });

  it("makes no ifb for ingress-only shaping", () => {
    const plan = planShaping({ ingress: { rateBits: 1_000_000, burstBits: 100_000 } }, "veth1", "bwpx", tick);
    expect(plan.ifb).toBeUndefined();
    expect(shapingLines(plan)).toHaveLength(1);
    expect(showLines(plan)).toEqual(["qdisc show dev veth1"]);
  });
});

describe("htb for subnet lists", () => {
  const plan = planShaping(
    {
      ingress: { rateBits: 1_000_000, burstBits: 100_000 },
      egress: { rateBits: 1_000_000, burstBits: 100_000 },
      subnets: { cidrs: ["10.1.0.0/16", "fd00::/8"], only: false },
    },
    "veth1",
    "bwp0123456789ab",
    tick,
  );

  it("caps class 1:30 by default and sends unshapedSubnets to the uncapped 1:1: by source towards the pod, by destination from it", () => {
    const lines = shapingLines(plan).map((s) => s.line);
    expect(lines.slice(0, 6)).toEqual([
      "qdisc del dev veth1 root",
      "qdisc add dev veth1 root handle 1: htb default 30 r2q 10",
      "class add dev veth1 parent 1: classid 1:30 htb rate 125000bps burst 12500 ceil 250000bps cburst 25000",
      "class add dev veth1 parent 1: classid 1:1 htb rate 100000000000bps ceil 100000000000bps",
      "filter add dev veth1 parent 1: protocol ip prio 16 u32 match ip src 10.1.0.0/16 flowid 1:1",
      "filter add dev veth1 parent 1: protocol ipv6 prio 15 u32 match ip6 src fd00::/8 flowid 1:1",
    ]);
    expect(lines).toContain(
      "filter add dev bwp0123456789ab parent 1: protocol ip prio 16 u32 match ip dst 10.1.0.0/16 flowid 1:1",
    );
    expect(shapingLines(plan)[0]!.tolerate?.test("Error: Cannot delete qdisc with handle of zero.")).toBe(true);
  });

  it("with shapedSubnets defaults to the uncapped class and sends the listed ones to 1:30", () => {
    const only = planShaping(
      { ingress: { rateBits: 1_000_000, burstBits: 100_000 }, subnets: { cidrs: ["10.1.0.0/16"], only: true } },
      "veth1",
      "bwpx",
      tick,
    );
    const lines = shapingLines(only).map((s) => s.line);
    expect(lines[1]).toBe("qdisc add dev veth1 root handle 1: htb default 1 r2q 10");
    expect(lines.at(-1)).toBe(
      "filter add dev veth1 parent 1: protocol ip prio 16 u32 match ip src 10.1.0.0/16 flowid 1:30",
    );
  });

  it("CHECK reads the default class, the filters and the capped class's bucket", () => {
    const htb = { kind: "htb", root: true, options: { default: "0x30" } };
    const rule = { options: { flowid: "1:1" } };
    const classes =
      "class htb 1:1 root prio 0 rate 800Gbit buffer [00000000] cbuffer [00000000]\nclass htb 1:30 root prio 0 rate 1Mbit buffer [0017d784] cbuffer [0017d784]\n";
    const redirect = {
      kind: "u32",
      options: { actions: [{ kind: "mirred", mirred_action: "redirect", to_dev: "bwp0123456789ab" }] },
    };
    const answers = [[htb, { kind: "ingress" }], [redirect], [htb], [rule, rule], [rule, rule]];
    const text = new Map([
      ["veth1", classes],
      ["bwp0123456789ab", classes],
    ]);
    expect(judgeShaping(plan, answers, text, tick)).toEqual([]);
    const broken = [
      [{ ...htb, options: { default: "0x1" } }, { kind: "ingress" }],
      [redirect],
      [htb],
      [rule],
      [rule, rule],
    ];
    expect(judgeShaping(plan, broken, new Map([["veth1", classes]]), tick)).toEqual([
      "Default class does not match on veth1 (0x1 != 0x30)",
      "subnet filters on veth1 do not match (1 found, 2 to 1:1 expected)",
      "no htb class 1:30 on bwp0123456789ab",
      "no htb class 1:1 on bwp0123456789ab",
    ]);
  });
});

describe("CHECK's judgement", () => {
  const tbf = (rate: number, raw: string, limit: number) => ({
    kind: "tbf",
    handle: "1:",
    root: true,
    options: { rate, burst_raw: raw, limit },
  });
  const redirect = {
    kind: "u32",
    options: { actions: [{ kind: "mirred", mirred_action: "redirect", to_dev: "bwp0123456789ab" }] },
  };
  const good = [[tbf(125000, "17d784", 15625), { kind: "ingress" }], [redirect], [tbf(250000, "17d784", 31250)]];

  it("passes what ADD made", () => {
    expect(judgeShaping(both, good)).toEqual([]);
  });

  it("names each difference", () => {
    expect(
      judgeShaping(both, [
        [tbf(125001, "17d784", 15625), { kind: "ingress" }],
        [redirect],
        [tbf(250000, "17d785", 31250)],
      ]),
    ).toEqual([
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
