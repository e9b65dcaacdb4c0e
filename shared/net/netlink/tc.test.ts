import { describe, expect, it } from "vitest";
import {
  encodeTcOp,
  encodeTcQuery,
  parseFilterMessage,
  parseQdiscMessage,
  type TcOp,
  tcLine,
  tcQueryLine,
} from "./tc.js";
import { attrStr, attrU32, decodeAttrs, decodeMessages, encodeAttrs } from "./wire.js";

const index = (n: string) => ({ veth0: 7, bwp0: 9 })[n] ?? 99;
const encode = (op: TcOp) => decodeMessages(encodeTcOp(op, 5, { index }))[0]!;
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** tcmsg: ifindex, handle, parent, info. */
const tcmsg = (p: Uint8Array) => [1, 2, 3, 4].map((i) => view(p).getUint32(i * 4, true));
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString("hex");

describe("tc requests", () => {
  it("a root tbf: replace-or-create, handle 1:, tc's rate spec and the burst in bytes (what tc 6.1 sends)", () => {
    const m = encode({
      op: "tbf-replace",
      dev: "veth0",
      rate: 1_000_000,
      burst: 100_000,
      limit: 125_000,
      buffer: 1_562_500,
    });
    expect([m.type, m.flags, m.seq]).toEqual([36, 0x505, 5]);
    expect(tcmsg(m.payload)).toEqual([7, 0x10000, 0xffffffff, 0]);
    const a = decodeAttrs(m.payload.subarray(20));
    expect(attrStr(a.get(1))).toBe("tbf");
    const o = decodeAttrs(a.get(2)!);
    // The tc_tbf_qopt bytes tc sends for `tbf rate 1000000bps burst 100000 limit 125000` (strace).
    expect(hex(o.get(1))).toBe(
      "03010000ffff000040420f00" + "000000000000000000000000" + "48e80100" + "84d71700" + "00000000",
    );
    expect(attrU32(o.get(6))).toBe(100_000);
    expect(o.has(4)).toBe(false);
  });

  it("a tbf above 4 GB/s carries the rate as TCA_TBF_RATE64, the 32-bit field saturated", () => {
    const m = encode({ op: "tbf-replace", dev: "veth0", rate: 5_000_000_000, burst: 1, limit: 1, buffer: 1 });
    const o = decodeAttrs(decodeAttrs(m.payload.subarray(20)).get(2)!);
    expect(view(o.get(1)!).getUint32(8, true)).toBe(0xffffffff);
    expect(view(o.get(4)!).getBigUint64(0, true)).toBe(5_000_000_000n);
  });

  it("the ingress qdisc: handle ffff:, parent ingress, no options", () => {
    const m = encode({ op: "ingress-replace", dev: "veth0" });
    expect([m.type, m.flags]).toEqual([36, 0x505]);
    expect(tcmsg(m.payload)).toEqual([7, 0xffff0000, 0xfffffff1, 0]);
    const a = decodeAttrs(m.payload.subarray(20));
    expect([...a.keys()]).toEqual([1]);
    expect(attrStr(a.get(1))).toBe("ingress");
  });

  it("the redirect: u32 800::800 on ffff:, prio 1 protocol all, classid 1:1, one match-all key, mirred egress redirect (stolen)", () => {
    const m = encode({ op: "redirect-replace", dev: "veth0", to: "bwp0" });
    // tc's "filter replace" asks for create without exclusive or replace.
    expect([m.type, m.flags]).toEqual([44, 0x405]);
    expect(tcmsg(m.payload)).toEqual([7, 0x80000800, 0xffff0000, 0x10300]);
    const a = decodeAttrs(m.payload.subarray(20));
    expect(attrStr(a.get(1))).toBe("u32");
    const o = decodeAttrs(a.get(2)!);
    expect(attrU32(o.get(1))).toBe(0x10001);
    expect(hex(o.get(5))).toBe("01000100" + "00".repeat(28));
    const action = decodeAttrs(decodeAttrs(o.get(7)!).get(1)!);
    expect(attrStr(action.get(1))).toBe("mirred");
    // tc_mirred: index, capab, action TC_ACT_STOLEN, refcnt, bindcnt, eaction TCA_EGRESS_REDIR, ifindex.
    const parms = decodeAttrs(action.get(2)!).get(2)!;
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => view(parms).getInt32(i * 4, true))).toEqual([0, 0, 4, 0, 0, 1, 9]);
  });

  it("renders each change as the tc line that makes it", () => {
    expect(
      tcLine({ op: "tbf-replace", dev: "veth0", rate: 1_000_000, burst: 100_000, limit: 125_000, buffer: 1 }),
    ).toBe("qdisc replace dev veth0 root handle 1: tbf rate 1000000bps burst 100000 limit 125000");
    expect(tcLine({ op: "ingress-replace", dev: "veth0" })).toBe("qdisc replace dev veth0 handle ffff: ingress");
    expect(tcLine({ op: "redirect-replace", dev: "veth0", to: "bwp0" })).toBe(
      "filter replace dev veth0 parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 classid 1:1 action mirred egress redirect dev bwp0",
    );
  });
});

describe("tc answers", () => {
  const tcmsgOf = (ifindex: number, handle: number, parent: number) => {
    const b = new Uint8Array(20);
    view(b).setInt32(4, ifindex, true);
    view(b).setUint32(8, handle, true);
    view(b).setUint32(12, parent, true);
    return b;
  };
  const message = (fixed: Uint8Array, attrs: Parameters<typeof encodeAttrs>[0]) =>
    new Uint8Array([...fixed, ...encodeAttrs(attrs)]);

  it("reads qdiscs as a device-wide dump and filters as one device's ingress dump", () => {
    const q = decodeMessages(encodeTcQuery({ q: "qdiscs", dev: "veth0" }, 3, { index }))[0]!;
    expect([q.type, q.flags, ...tcmsg(q.payload)]).toEqual([38, 0x301, 7, 0, 0, 0]);
    const f = decodeMessages(encodeTcQuery({ q: "ingress-filters", dev: "veth0" }, 3, { index }))[0]!;
    expect([f.type, f.flags, ...tcmsg(f.payload)]).toEqual([46, 0x301, 7, 0, 0xffff0000, 0]);
    expect(tcQueryLine({ q: "ingress-filters", dev: "veth0" })).toBe("filter show dev veth0 ingress");
  });

  it("a root tbf as tc -j -d -r shows it: rate (64-bit when given), buffer ticks in hex, limit", () => {
    const qopt = new Uint8Array(36);
    view(qopt).setUint32(8, 0xffffffff, true);
    view(qopt).setUint32(24, 175_000_000, true);
    view(qopt).setUint32(28, 0x26259, true);
    const rate64 = new Uint8Array(8);
    view(rate64).setBigUint64(0, 5_000_000_000n, true);
    const parsed = parseQdiscMessage(
      message(tcmsgOf(7, 0x10000, 0xffffffff), [
        { type: 1, str: "tbf" },
        {
          type: 2,
          nested: [
            { type: 1, bytes: qopt },
            { type: 4, bytes: rate64 },
          ],
        },
      ]),
    );
    expect(parsed).toEqual({
      ifindex: 7,
      qdisc: {
        kind: "tbf",
        handle: "1:",
        root: true,
        options: { rate: 5_000_000_000, burst_raw: "26259", limit: 175_000_000 },
      },
    });
    const ingress = parseQdiscMessage(message(tcmsgOf(7, 0xffff0000, 0xfffffff1), [{ type: 1, str: "ingress" }]));
    expect(ingress.qdisc).toEqual({ kind: "ingress", handle: "ffff:", parent: "ffff:fff1", options: {} });
  });

  it("a u32 filter's class and its mirred actions in order, the target as an index for the caller to name", () => {
    const parms = (eaction: number, ifindex: number) => {
      const b = new Uint8Array(28);
      view(b).setInt32(20, eaction, true);
      view(b).setUint32(24, ifindex, true);
      return b;
    };
    const mirred = (eaction: number, ifindex: number) => [
      { type: 1, str: "mirred" },
      { type: 2, nested: [{ type: 2, bytes: parms(eaction, ifindex) }] },
    ];
    const { filter, toIndex } = parseFilterMessage(
      message(tcmsgOf(7, 0x80000800, 0xffff0000), [
        { type: 1, str: "u32" },
        {
          type: 2,
          nested: [
            { type: 1, u32: 0x10001 },
            {
              type: 7,
              nested: [
                { type: 1, nested: mirred(1, 9) },
                { type: 2, nested: mirred(4, 9) },
              ],
            },
          ],
        },
      ]),
    );
    expect(filter).toEqual({
      kind: "u32",
      options: {
        flowid: "1:1",
        actions: [
          { order: 1, kind: "mirred", mirred_action: "redirect", direction: "egress" },
          { order: 2, kind: "mirred", mirred_action: "mirror", direction: "ingress" },
        ],
      },
    });
    expect([...toIndex.values()]).toEqual([9, 9]);
    // The hash table's own entry has neither class nor actions.
    const table = parseFilterMessage(
      message(tcmsgOf(7, 0x80000000, 0xffff0000), [
        { type: 1, str: "u32" },
        { type: 2, nested: [{ type: 4, u32: 1 }] },
      ]),
    );
    expect(table.filter).toEqual({ kind: "u32" });
  });
});
