import { describe, expect, it } from "vitest";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { isZero, parseBandwidthConf } from "./config.js";

describe("bandwidth config", () => {
  it("reads the static fields", () => {
    const c = parseBandwidthConf({ ingressRate: 8000, ingressBurst: 16000, egressRate: 0, egressBurst: 0 }, undefined);
    expect(c).toEqual({ ingress: { rateBits: 8000, burstBits: 16000 } });
  });

  it("lets runtimeConfig.bandwidth replace the static fields, in containerd's spelling too", () => {
    const raw = { ingressRate: 8000, ingressBurst: 16000 };
    const c = parseBandwidthConf(raw, { Bandwidth: { IngressRate: 0, EgressRate: 1_000_000, EgressBurst: 100_000 } });
    expect(c).toEqual({ egress: { rateBits: 1_000_000, burstBits: 100_000 } });
  });

  it("is zero when nothing is shaped", () => {
    expect(isZero(parseBandwidthConf({}, undefined))).toBe(true);
    expect(isZero(parseBandwidthConf({}, { bandwidth: { ingressRate: null } }))).toBe(true);
  });

  it.each([
    [{ ingressRate: 1000 }, "if rate is set, burst must also be set"],
    [{ egressBurst: 1000 }, "if burst is set, rate must also be set"],
    [{ ingressRate: 1000, ingressBurst: 34_359_738_360 }, "burst cannot be more than 4GB"],
    [{ ingressRate: 4, ingressBurst: 100_000 }, "ingressRate 4 is below 8 bits per second"],
    [{ egressRate: -1, egressBurst: 100_000 }, "must not be negative"],
    [{ egressRate: 1.5, egressBurst: 100_000 }, "must be a whole number"],
    [{ egressRate: "1M", egressBurst: 100_000 }, "must be a number"],
    [
      { shapedSubnets: ["10.0.0.0/8"], unshapedSubnets: ["10.1.0.0/16"] },
      "unshapedSubnets and shapedSubnets cannot be both specified",
    ],
    [{ unshapedSubnets: ["10.0.0.0/33"] }, 'bad subnet "10.0.0.0/33" provided'],
  ])("refuses %j with code 7: %s", (bw, message) => {
    for (const [raw, runtime] of [
      [bw, undefined],
      [{}, { bandwidth: bw }],
    ] as const) {
      const e = cniErrorOf(() => parseBandwidthConf(raw as Record<string, unknown>, runtime));
      expect(e?.code).toBe(7);
      expect(e?.message).toContain(message);
      expect(e?.details).not.toBe("");
    }
  });

  it("reads the subnet lists: shapedSubnets shapes only those, unshapedSubnets all but those", () => {
    const bw = { ingressRate: 8000, ingressBurst: 16000 };
    expect(parseBandwidthConf({ ...bw, shapedSubnets: ["10.0.0.0/8", "fd00::/8"] }, undefined).subnets).toEqual({
      cidrs: ["10.0.0.0/8", "fd00::/8"],
      only: true,
    });
    expect(parseBandwidthConf({}, { bandwidth: { ...bw, unshapedSubnets: ["192.0.2.0/24"] } }).subnets).toEqual({
      cidrs: ["192.0.2.0/24"],
      only: false,
    });
    expect(parseBandwidthConf(bw, undefined).subnets).toBeUndefined();
  });

  it("accepts the largest burst below 4 GB", () => {
    expect(parseBandwidthConf({ ingressRate: 8, ingressBurst: 34_359_738_352 }, undefined).ingress?.burstBits).toBe(
      34_359_738_352,
    );
  });
});
