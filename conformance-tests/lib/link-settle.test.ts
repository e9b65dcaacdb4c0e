import { describe, expect, it } from "vitest";
import { carrierChangePending } from "./link-settle.js";
import type { LinkInfo } from "./observe.js";

const link = (flags: string[], operstate: string, kind?: string): LinkInfo => ({
  ifindex: 3,
  ifname: "br0",
  flags,
  mtu: 1500,
  operstate,
  ...(kind ? { linkinfo: { info_kind: kind } } : {}),
});

describe("carrierChangePending", () => {
  it("is true while operstate still shows the old carrier", () => {
    expect(carrierChangePending(link(["BROADCAST", "UP"], "UP"))).toBe(true); // carrier lost, not published
    expect(carrierChangePending(link(["BROADCAST", "UP", "LOWER_UP"], "DOWN"))).toBe(true); // carrier back
    expect(carrierChangePending(link(["BROADCAST", "UP", "LOWER_UP"], "LOWERLAYERDOWN"))).toBe(true);
    expect(carrierChangePending(link(["BROADCAST", "UP", "LOWER_UP"], "UNKNOWN", "bridge"))).toBe(true); // never published yet
  });

  it("is false once both agree, and for links that are administratively down", () => {
    expect(carrierChangePending(link(["BROADCAST", "UP", "LOWER_UP"], "UP"))).toBe(false);
    expect(carrierChangePending(link(["BROADCAST", "NO-CARRIER", "UP"], "DOWN"))).toBe(false);
    expect(carrierChangePending(link(["LOOPBACK", "UP", "LOWER_UP"], "UNKNOWN"))).toBe(false);
    expect(carrierChangePending(link(["BROADCAST", "UP", "LOWER_UP"], "UNKNOWN", "vxlan"))).toBe(false);
    expect(carrierChangePending(link(["BROADCAST"], "UP"))).toBe(false);
  });
});
