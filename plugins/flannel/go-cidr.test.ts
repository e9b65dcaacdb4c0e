import { describe, expect, it } from "vitest";
import { formatCidr, formatIp, networkOf, parseCidr, parseIp } from "./go-cidr.js";

// Expected strings were produced by Go 1.19's net.ParseIP/ParseCIDR + String() on this machine.
describe("parseIp/formatIp match Go's net.IP", () => {
  const cases: Array<[string, string | null]> = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["0:0:1:0:0:1:0:0", "::1:0:0:1:0:0"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["FC00::ABCD", "fc00::abcd"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["1:2:3:4:5:6:7:8::", null],
    ["::1.2.3.4", "::102:304"],
    ["1.2.3.04", null],
    ["1.2.3.256", null],
    ["::ffff:1.2.3", null],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
    ["fe80::1%eth0", null],
    ["1.2.3.4", "1.2.3.4"],
  ];
  it.each(cases)("%s", (input, want) => {
    const ip = parseIp(input);
    expect(ip ? formatIp(ip) : null).toBe(want);
  });
});

describe("parseCidr matches Go's net.ParseCIDR", () => {
  const cases: Array<[string, string | null, string | null]> = [
    ["10.244.1.1/24", "10.244.1.0/24", "10.244.1.1/24"],
    ["fc00:0:0:1::1/64", "fc00:0:0:1::/64", "fc00:0:0:1::1/64"],
    ["10.0.0.0/33", null, null],
    ["10.0.0.0/08", "10.0.0.0/8", "10.0.0.0/8"],
    ["::ffff:10.1.0.0/112", "10.1.0.0/16", "10.1.0.0/16"],
    ["10.1.2.3/8", "10.0.0.0/8", "10.1.2.3/8"],
    ["0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"],
    ["10.0.0.1/-1", null, null],
    ["10.0.0.1/+8", null, null],
    ["10.0.0.1", null, null],
  ];
  it.each(cases)("%s", (input, network, kept) => {
    const c = parseCidr(input);
    expect(c ? formatCidr(networkOf(c)) : null).toBe(network);
    expect(c ? formatCidr(c) : null).toBe(kept);
  });
});
