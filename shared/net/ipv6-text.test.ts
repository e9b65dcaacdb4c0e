import { Address6 } from "ip-address";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIpv6 } from "./ipv6-text.js";

describe("parseIpv6 (Go's net.ParseIP rules)", () => {
  it.each([
    ["::", 0n],
    ["::1", 1n],
    ["1::", 1n << 112n],
    ["fc00:0:0:1::", (0xfc00n << 112n) | (1n << 64n)],
    ["2001:DB8::1:0:0:1", (0x2001n << 112n) | (0xdb8n << 96n) | (1n << 48n) | 1n],
    ["1:2:3:4:5:6:7:8", 0x00010002000300040005000600070008n],
    ["::ffff:10.1.2.3", 0xffff0a010203n],
    ["1:2:3:4:5:6:1.2.3.4", 0x00010002000300040005000601020304n],
    ["::1.2.3.4", 0x01020304n],
  ])("%s", (text, n) => {
    expect(parseIpv6(text)).toBe(n);
  });

  it.each([
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4::5:6:7:8",
    "12345::",
    "g::",
    "1.2.3.4::",
    "::1.2.3",
    "::256.1.1.1",
    "::01.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    ":1::",
    "1:::2",
  ])("rejects %j", (text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });

  it("reads every address the way ip-address does, whichever way it is written", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        expect(parseIpv6(text)).toBe(new Address6(text).bigInt());
      }),
      { numRuns: 2000 },
    );
  });
});
