import { describe, expect, it } from "vitest";
import {
  canonical,
  firstHost,
  formatCidr,
  inCidr,
  lastOf,
  networkOf,
  next,
  parseCidr,
  parseIp,
  formatIp,
} from "./ip.js";

const roundTrip = (s: string) => {
  const ip = parseIp(s);
  return ip ? formatIp(ip) : undefined;
};

describe("parseIp/formatIp (Go net.ParseIP / net.IP.String)", () => {
  it.each([
    ["10.244.1.2", "10.244.1.2"],
    ["FC00::1", "fc00::1"],
    ["fc00:0:0:1::", "fc00:0:0:1::"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::", "::"],
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["::ffff:a01:203", "10.1.2.3"],
    ["::1.2.3.4", "::102:304"],
  ])("%s prints as %s", (input, printed) => {
    expect(roundTrip(input)).toBe(printed);
  });

  it.each(["010.0.0.1", "256.1.1.1", "1.2.3", "fe80::1%eth0", "1::2::3", "10.0.0.1/24", " 10.0.0.1", "abc", ""])(
    "rejects %j",
    (input) => {
      expect(parseIp(input)).toBeUndefined();
    },
  );

  it("parses CIDRs keeping host bits", () => {
    const c = parseCidr("10.244.1.7/24");
    expect(c && formatIp(c)).toBe("10.244.1.7");
    expect(c?.prefix).toBe(24);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("fc00::/129")).toBeUndefined();
    expect(parseCidr("fc00::/64")?.prefix).toBe(64);
  });
});

describe("prefix arithmetic", () => {
  it("masks, +1, the last address, containment and wrap-around", () => {
    const c = parseCidr("10.244.1.7/24")!;
    expect(formatCidr(networkOf(c))).toBe("10.244.1.0/24");
    expect(formatCidr(firstHost(c))).toBe("10.244.1.1/24");
    expect(formatIp(lastOf(c))).toBe("10.244.1.255");
    expect(inCidr(c, parseIp("10.244.1.200")!)).toBe(true);
    expect(inCidr(c, parseIp("10.244.2.1")!)).toBe(false);
    expect(inCidr(c, parseIp("::ffff:10.244.1.9")!)).toBe(true);
    expect(formatIp(next(parseIp("255.255.255.255")!))).toBe("0.0.0.0");
    expect(canonical("FD00:0::1/64")).toBe("fd00::1/64");
    expect(canonical("not an address")).toBe("not an address");
  });

  it("keeps an IPv4-mapped prefix's 128-bit mask, as Go's ParseCIDR does", () => {
    const c = parseCidr("::ffff:10.1.2.3/120")!;
    expect(c).toMatchObject({ family: 4, prefix: 120, v6Notation: true });
    expect(formatIp(networkOf(c))).toBe("10.1.2.0");
    expect(formatIp(lastOf(c))).toBe("10.1.2.255");
    expect(parseCidr("10.1.2.3/120")).toBeUndefined();
  });
});
