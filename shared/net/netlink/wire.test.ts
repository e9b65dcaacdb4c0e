import { describe, expect, it } from "vitest";
import {
  attrStr,
  attrU32,
  attrU8,
  classify,
  decodeAttrs,
  decodeMessages,
  encodeAttrs,
  encodeMessage,
  errnoText,
  NLA_F_NESTED,
} from "./wire.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("netlink wire format", () => {
  it("encodes attributes with their length, type and 4-byte padding", () => {
    expect(hex(encodeAttrs([{ type: 3, str: "eth0" }]))).toBe("09000300" + "6574683000" + "000000");
    expect(
      hex(
        encodeAttrs([
          { type: 4, u32: 1450 },
          { type: 7, u8: 1 },
        ]),
      ),
    ).toBe("08000400aa050000" + "0500070001000000");
    expect(hex(encodeAttrs([{ type: 1, u16: 0x1234 }]))).toBe("060001003412" + "0000");
  });

  it("marks nested attributes and decodes them back with the flag masked", () => {
    const b = encodeAttrs([{ type: 18, nested: [{ type: 1, str: "veth" }] }]);
    const v = new DataView(b.buffer);
    expect(v.getUint16(2, true)).toBe(18 | NLA_F_NESTED);
    const outer = decodeAttrs(b);
    expect(attrStr(decodeAttrs(outer.get(18)!).get(1))).toBe("veth");
  });

  it("frames a request: total length, type, flags, sequence, zero port, family header padded", () => {
    const m = encodeMessage(20, 0x605, 7, Uint8Array.of(2, 24, 0, 0, 5, 0, 0, 0), [
      { type: 2, bytes: Uint8Array.of(10, 0, 0, 2) },
    ]);
    expect(hex(m)).toBe(
      "20000000" + "1400" + "0506" + "07000000" + "00000000" + "0218000005000000" + "080002000a000002",
    );
  });

  it("splits datagrams into messages and classifies data, done, ack and errors", () => {
    const err = new Uint8Array(4);
    new DataView(err.buffer).setInt32(0, -17, true);
    const ack = new Uint8Array(4);
    const buf = new Uint8Array([
      ...encodeMessage(16, 2, 9, new Uint8Array(16)),
      ...encodeMessage(2, 0, 9, err),
      ...encodeMessage(2, 0, 10, ack),
      ...encodeMessage(3, 2, 11, new Uint8Array(4)),
    ]);
    const ms = decodeMessages(buf);
    expect(ms.map((m) => [m.type, m.seq])).toEqual([
      [16, 9],
      [2, 9],
      [2, 10],
      [3, 11],
    ]);
    expect(ms.map((m) => classify(m).kind)).toEqual(["data", "error", "ack", "done"]);
    expect(classify(ms[1]!)).toEqual({ kind: "error", errno: 17 });
  });

  it("stops at a truncated record instead of reading past it", () => {
    const m = encodeMessage(16, 0, 1, new Uint8Array(16));
    expect(decodeMessages(m.subarray(0, m.length - 4))).toEqual([]);
    expect(decodeAttrs(Uint8Array.of(20, 0, 1, 0, 1, 2)).size).toBe(0);
  });

  it("reads integers and strings defensively and words errnos as Go does", () => {
    expect(attrU8(undefined)).toBeUndefined();
    expect(attrU32(Uint8Array.of(1, 0))).toBeUndefined();
    expect(attrU32(Uint8Array.of(0xdc, 0x05, 0, 0))).toBe(1500);
    expect(attrStr(Uint8Array.of(0x6c, 0x6f, 0))).toBe("lo");
    expect(errnoText(17)).toBe("file exists");
    expect(errnoText(19)).toBe("no such device");
    expect(errnoText(4242)).toBe("errno 4242");
  });
});
