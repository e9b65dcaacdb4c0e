import { describe, expect, it } from "vitest";
import { formatIp, parseCidr, parseIp } from "./go-ip.js";

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
    expect(c && formatIp(c.ip)).toBe("10.244.1.7");
    expect(c?.prefix).toBe(24);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("fc00::/129")).toBeUndefined();
    expect(parseCidr("fc00::/64")?.prefix).toBe(64);
  });
});
