import { describe, expect, it } from "vitest";
import { ifbName, isIfbName, kernelTicks, tbfParams, tcBurst, tickInUsec } from "./tbf-params.js";

const PSCHED = "000003e8 00000040 000f4240 3b9aca00\n";
const tick = tickInUsec(PSCHED);

describe("tbf parameters", () => {
  it("reads the tick rate from /proc/net/psched", () => {
    expect(tick).toBe(15.625);
  });

  it("computes rate, buffer and limit as the Go plugin (1 Mbit/s, 100 kbit burst)", () => {
    // rate 125000 B/s; burst 12500 B = 0.1 s = 100000 us = 1562500 ticks; limit = 25 ms of rate + burst.
    expect(tbfParams({ rateBits: 1_000_000, burstBits: 100_000 }, tick)).toEqual({
      rate: 125000,
      buffer: 1562500,
      limit: 15625,
      burstBytes: 12500,
    });
  });

  it("truncates like Go: bits to bytes, microseconds, ticks", () => {
    const p = tbfParams({ rateBits: 8_000_007, burstBits: 80_007 }, tick);
    expect(p.rate).toBe(1_000_000);
    expect(p.burstBytes).toBe(10_000);
    expect(p.buffer).toBe(156_250);
    expect(p.limit).toBe(25_000 + 10_000);
  });

  it("wraps a buffer beyond 32 bits as Go's uint32 conversion does on amd64", () => {
    // kubelet's "no burst limit" (MaxInt32 bits) at 1 Mbit/s: 2147 s of ticks do not fit.
    const p = tbfParams({ rateBits: 1_000_000, burstBits: 2_147_483_647 }, tick);
    expect(p.buffer).toBe(Number(((BigInt(Math.trunc((268_435_455 * 1e6) / 125_000)) * 15625n) / 1000n) & 0xffffffffn));
  });

  it("predicts the ticks the kernel derives from tc's burst bytes (values read back from a 6.18 kernel)", () => {
    expect(kernelTicks(125_000, 12_500)).toBe(1_562_500);
    expect(kernelTicks(416_667, 97_222)).toBe(0x37a17e);
    const p = tbfParams({ rateBits: 3_333_337, burstBits: 777_779 }, tick);
    // Go truncates to whole microseconds first: 0x37a174, 10 ticks (0.64 us) less than the kernel's own count.
    expect(p.buffer).toBe(0x37a174);
    expect(tcBurst(p)).toEqual({ bytes: 97_222, ticks: 0x37a17e });
  });
});

describe("ifb name", () => {
  it("is bwp + 12 hex digits of sha512(network + container id)", () => {
    const name = ifbName("cbr0", "abc");
    expect(name).toMatch(/^bwp[0-9a-f]{12}$/);
    expect(isIfbName(name)).toBe(true);
    expect(ifbName("cbr0", "abd")).not.toBe(name);
  });
});
