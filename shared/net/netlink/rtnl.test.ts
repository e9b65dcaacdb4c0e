import { describe, expect, it } from "vitest";
import { EXISTS, GONE } from "../batch.js";
import {
  dumpLinks,
  encodeOp,
  formatMac,
  type KernelOp,
  macBytes,
  parseAddrMessage,
  parseLinkMessage,
  parseRouteMessage,
  type Resolve,
} from "./rtnl.js";
import {
  attrStr,
  attrU32,
  attrU8,
  decodeAttrs,
  decodeMessages,
  encodeAttrs,
  encodeMessage,
  errnoText,
  type Attrs,
} from "./wire.js";

const resolve: Resolve = { index: (n) => ({ cni0: 3, veth0: 7, eth0: 2 })[n] ?? 99, netnsFd: () => 42 };
const encode = (op: KernelOp) => decodeMessages(encodeOp(op, 5, resolve))[0]!;
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const sub = (a: Attrs, t: number) => decodeAttrs(a.get(t)!);

describe("rtnetlink requests", () => {
  it("a bridge: RTM_NEWLINK create-exclusive with name, MAC, MTU and kind (+ vlan_filtering)", () => {
    const m = encode({ op: "bridge-add", name: "cni0", address: "02:00:00:00:00:01", mtu: 1450, vlanFiltering: true });
    expect([m.type, m.flags, m.seq]).toEqual([16, 0x605, 5]);
    const a = decodeAttrs(m.payload.subarray(16));
    expect(attrStr(a.get(3))).toBe("cni0");
    expect(formatMac(a.get(1)!)).toBe("02:00:00:00:00:01");
    expect(attrU32(a.get(4))).toBe(1450);
    const info = sub(a, 18);
    expect(attrStr(info.get(1))).toBe("bridge");
    expect(attrU8(sub(info, 2).get(7))).toBe(1);
  });

  it("a veth pair whose peer is created in the pod namespace (by descriptor), txqlen 0 on both ends", () => {
    const m = encode({
      op: "veth-add",
      name: "veth0",
      mtu: 1450,
      txqlen: 0,
      peer: { name: "eth0", mtu: 1450, txqlen: 0, address: "0a:58:0a:f4:01:02", netns: "/run/netns/p" },
    });
    const a = decodeAttrs(m.payload.subarray(16));
    expect(attrU32(a.get(13))).toBe(0);
    const info = sub(a, 18);
    expect(attrStr(info.get(1))).toBe("veth");
    const peer = sub(info, 2).get(1)!;
    const pa = decodeAttrs(peer.subarray(16));
    expect(attrStr(pa.get(3))).toBe("eth0");
    expect(attrU32(pa.get(28))).toBe(42);
    expect(attrU32(pa.get(4))).toBe(1450);
    expect(attrU32(pa.get(13))).toBe(0);
    expect(formatMac(pa.get(1)!)).toBe("0a:58:0a:f4:01:02");
  });

  it("link changes address the link by index: up via flags/change, master by index, port flags as bridge slave data", () => {
    const up = encode({ op: "link-set", dev: "veth0", up: true, master: "cni0" });
    expect([up.type, up.flags]).toEqual([16, 0x5]);
    expect([
      view(up.payload).getInt32(4, true),
      view(up.payload).getUint32(8, true),
      view(up.payload).getUint32(12, true),
    ]).toEqual([7, 1, 1]);
    expect(attrU32(decodeAttrs(up.payload.subarray(16)).get(10))).toBe(3);
    const down = encode({ op: "link-set", dev: "eth0", up: false, promisc: true });
    expect([view(down.payload).getUint32(8, true), view(down.payload).getUint32(12, true)]).toEqual([0x100, 0x101]);
    const port = encode({ op: "port-set", dev: "veth0", hairpin: true, isolated: false });
    const info = sub(decodeAttrs(port.payload.subarray(16)), 18);
    expect(attrStr(info.get(4))).toBe("bridge");
    const slave = sub(info, 5);
    expect([attrU8(slave.get(4)), attrU8(slave.get(33))]).toEqual([1, 0]);
  });

  it("an ifb: RTM_NEWLINK create-exclusive with name, MTU, queue length 0 and kind only (no info data)", () => {
    const m = encode({ op: "ifb-add", name: "bwp0123456789ab", mtu: 1450, txqlen: 0 });
    expect([m.type, m.flags, m.seq]).toEqual([16, 0x605, 5]);
    expect(view(m.payload).getInt32(4, true)).toBe(0);
    const a = decodeAttrs(m.payload.subarray(16));
    expect(attrStr(a.get(3))).toBe("bwp0123456789ab");
    expect([attrU32(a.get(4)), attrU32(a.get(13))]).toEqual([1450, 0]);
    const info = sub(a, 18);
    expect(attrStr(info.get(1))).toBe("ifb");
    expect(info.has(2)).toBe(false);
  });

  it("link-set carries the queue length and the alias as ip sends it (no NUL); an empty alias clears it", () => {
    const m = encode({
      op: "link-set",
      dev: "veth0",
      mtu: 1400,
      txqlen: 1000,
      alias: "cni-ts.bandwidth/n/c",
      up: true,
    });
    expect([m.type, m.flags, view(m.payload).getInt32(4, true), view(m.payload).getUint32(8, true)]).toEqual([
      16, 0x5, 7, 1,
    ]);
    const a = decodeAttrs(m.payload.subarray(16));
    expect([attrU32(a.get(4)), attrU32(a.get(13))]).toEqual([1400, 1000]);
    expect(Buffer.from(a.get(20)!).toString()).toBe("cni-ts.bandwidth/n/c");
    const clear = decodeAttrs(encode({ op: "link-set", dev: "veth0", alias: "" }).payload.subarray(16));
    expect(clear.get(20)!.length).toBe(0);
    const plain = decodeAttrs(encode({ op: "link-set", dev: "veth0", up: true }).payload.subarray(16));
    expect([plain.has(13), plain.has(20)]).toEqual([false, false]);
  });

  it("addresses: family, prefix, index, local = address", () => {
    const m = encode({ op: "addr-add", dev: "cni0", cidr: "10.244.1.1/24" });
    expect([m.type, m.flags]).toEqual([20, 0x605]);
    expect([...m.payload.subarray(0, 8)]).toEqual([2, 24, 0, 0, 3, 0, 0, 0]);
    const a = decodeAttrs(m.payload.subarray(8));
    expect([...a.get(2)!]).toEqual([10, 244, 1, 1]);
    expect([...a.get(1)!]).toEqual([10, 244, 1, 1]);
    const six = encode({ op: "addr-del", dev: "eth0", cidr: "fd00::2/64" });
    expect([six.type, six.payload[0], six.payload[1]]).toEqual([21, 10, 64]);
    expect(Buffer.from(decodeAttrs(six.payload.subarray(8)).get(2)!).toString("hex")).toBe(
      "fd000000000000000000000000000002",
    );
  });

  it("routes: appended, proto boot, link scope without a gateway (as ip route), table > 255 as RTA_TABLE, metrics nested", () => {
    const viaGw = encode({ op: "route-append", dev: "eth0", dst: "0.0.0.0/0", gw: "10.0.0.1", metric: 5 });
    expect([viaGw.type, viaGw.flags]).toEqual([24, 0xc05]);
    expect([...viaGw.payload.subarray(0, 8)]).toEqual([2, 0, 0, 0, 254, 3, 0, 1]);
    const a = decodeAttrs(viaGw.payload.subarray(12));
    expect([...a.get(5)!]).toEqual([10, 0, 0, 1]);
    expect([attrU32(a.get(6)), attrU32(a.get(4))]).toEqual([5, 2]);
    const link = encode({ op: "route-append", dev: "eth0", dst: "10.0.0.0/8", table: 1000, mtu: 1400, advmss: 1360 });
    expect([link.payload[4], link.payload[6]]).toEqual([0, 253]);
    const la = decodeAttrs(link.payload.subarray(12));
    expect(attrU32(la.get(15))).toBe(1000);
    const metrics = decodeAttrs(la.get(8)!);
    expect([attrU32(metrics.get(2)), attrU32(metrics.get(8))]).toEqual([1400, 1360]);
    expect(encode({ op: "route-append", dev: "eth0", dst: "10.0.0.0/8", scope: 0 }).payload[6]).toBe(0);
  });

  it("a port dump asks the kernel for one bridge's ports only", () => {
    const [m] = decodeMessages(dumpLinks(9, { masterIndex: 3 }));
    expect([m!.type, m!.flags]).toEqual([18, 0x301]);
    expect(attrU32(decodeAttrs(m!.payload.subarray(16)).get(10))).toBe(3);
    expect(decodeMessages(dumpLinks(9))[0]!.payload.length).toBe(16);
  });

  it("a kind dump asks the kernel for links of that kind (IFLA_LINKINFO with the kind only)", () => {
    const [m] = decodeMessages(dumpLinks(9, { kind: "ifb" }));
    expect([m!.type, m!.flags]).toEqual([18, 0x301]);
    const a = decodeAttrs(m!.payload.subarray(16));
    expect([...a.keys()]).toEqual([18]);
    expect(attrStr(sub(a, 18).get(1))).toBe("ifb");
  });

  it("refuses malformed input instead of sending it", () => {
    expect(() => macBytes("0a:58:0a")).toThrow(/invalid MAC/);
    expect(() => encode({ op: "addr-add", dev: "eth0", cidr: "10.0.0.300/24" })).toThrow(/invalid prefix/);
  });
});

describe("rtnetlink answers", () => {
  const ifinfo = (index: number, flags: number) => {
    const b = new Uint8Array(16);
    view(b).setInt32(4, index, true);
    view(b).setUint32(8, flags, true);
    return b;
  };

  it("a bridge port: name, MTU, MAC, operstate, flags, kind, master, peer, hairpin and isolation", () => {
    const payload = new Uint8Array([
      ...ifinfo(7, 0x1 | 0x2 | 0x40 | 0x1000 | 0x10000),
      ...encodeAttrs([
        { type: 3, str: "veth0" },
        { type: 4, u32: 1450 },
        { type: 1, bytes: macBytes("d2:04:22:7e:a4:3a") },
        { type: 16, u8: 6 },
        { type: 10, u32: 3 },
        { type: 5, u32: 2 },
        {
          type: 18,
          nested: [
            { type: 1, str: "veth" },
            { type: 4, str: "bridge" },
            {
              type: 5,
              nested: [
                { type: 4, u8: 1 },
                { type: 33, u8: 1 },
              ],
            },
          ],
        },
      ]),
    ]);
    const l = parseLinkMessage(payload);
    expect(l).toMatchObject({
      ifindex: 7,
      ifname: "veth0",
      mtu: 1450,
      address: "d2:04:22:7e:a4:3a",
      operstate: "UP",
      kind: "veth",
      masterIndex: 3,
      linkIndex: 2,
      promisc: false,
      port: { hairpin: true, isolated: true },
      txqlen: 0,
      alias: "",
    });
    expect(l.flags).toEqual(["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]);
  });

  it("a veth whose peer in another namespace has the same index keeps its peer index", () => {
    const payload = new Uint8Array([
      ...ifinfo(2, 0x1),
      ...encodeAttrs([
        { type: 3, str: "eth0" },
        { type: 5, u32: 2 },
      ]),
    ]);
    expect(parseLinkMessage(payload).linkIndex).toBe(2);
    expect(
      parseLinkMessage(new Uint8Array([...ifinfo(1, 0x9), ...encodeAttrs([{ type: 3, str: "lo" }])])).linkIndex,
    ).toBe(undefined);
  });

  it("a bridge with vlan filtering, promisc, down and without carrier", () => {
    const payload = new Uint8Array([
      ...ifinfo(3, 0x1 | 0x100),
      ...encodeAttrs([
        { type: 3, str: "cni0" },
        { type: 16, u8: 2 },
        { type: 13, u32: 1000 },
        { type: 20, bytes: Buffer.from("ours") },
        {
          type: 18,
          nested: [
            { type: 1, str: "bridge" },
            { type: 2, nested: [{ type: 7, u8: 1 }] },
          ],
        },
      ]),
    ]);
    const l = parseLinkMessage(payload);
    expect(l).toMatchObject({
      kind: "bridge",
      vlanFiltering: true,
      promisc: true,
      operstate: "DOWN",
      port: undefined,
      masterIndex: undefined,
      txqlen: 1000,
      alias: "ours",
    });
    expect(l.flags).toContain("NO-CARRIER");
  });

  it("addresses: local over address, scope names, tentative and dadfailed from IFA_FLAGS", () => {
    const fixed = Uint8Array.of(10, 64, 0, 0, 2, 0, 0, 0);
    const six = parseAddrMessage(
      new Uint8Array([
        ...fixed,
        ...encodeAttrs([
          { type: 1, bytes: Buffer.from("fd000000000000000000000000000002", "hex") },
          { type: 8, u32: 0x40 },
        ]),
      ]),
    );
    expect(six).toEqual({
      index: 2,
      addr: { family: 6, local: "fd00::2", prefixlen: 64, scope: "global", tentative: true, dadfailed: false },
    });
    const four = parseAddrMessage(
      new Uint8Array([
        ...Uint8Array.of(2, 8, 0x08, 254, 1, 0, 0, 0),
        ...encodeAttrs([
          { type: 1, bytes: Uint8Array.of(127, 0, 0, 2) },
          { type: 2, bytes: Uint8Array.of(127, 0, 0, 1) },
        ]),
      ]),
    );
    expect(four.addr).toEqual({
      family: 4,
      local: "127.0.0.1",
      prefixlen: 8,
      scope: "host",
      tentative: false,
      dadfailed: true,
    });
  });

  it("routes: default, host routes without a prefix (as ip prints them), table names and numbers, gateway, metric, oif", () => {
    const rt = (fixed: number[], attrs: Parameters<typeof encodeAttrs>[0]) =>
      parseRouteMessage(new Uint8Array([...fixed, ...encodeAttrs(attrs)]));
    expect(
      rt(
        [2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0],
        [
          { type: 5, bytes: Uint8Array.of(10, 0, 0, 1) },
          { type: 4, u32: 2 },
          { type: 6, u32: 5 },
        ],
      ),
    ).toEqual({
      oif: 2,
      route: {
        dst: "default",
        gateway: "10.0.0.1",
        dev: undefined,
        table: "main",
        type: "unicast",
        metric: 5,
        family: 4,
      },
    });
    expect(
      rt(
        [2, 32, 0, 0, 255, 2, 254, 2, 0, 0, 0, 0],
        [
          { type: 1, bytes: Uint8Array.of(10, 0, 0, 2) },
          { type: 15, u32: 255 },
        ],
      ).route,
    ).toMatchObject({ dst: "10.0.0.2", table: "local", type: "local" });
    expect(
      rt(
        [10, 64, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0],
        [
          { type: 1, bytes: Buffer.from("fd000000000000000000000000000000", "hex") },
          { type: 15, u32: 1000 },
        ],
      ).route,
    ).toMatchObject({ dst: "fd00::/64", table: "1000", family: 6 });
  });

  it("kernel refusals read as the texts the tolerances and upstream's messages expect", () => {
    expect(EXISTS.test(errnoText(17))).toBe(true);
    for (const errno of [19, 3, 99]) expect(GONE.test(errnoText(errno))).toBe(true);
    expect(encodeMessage(16, 0, 1, new Uint8Array(16)).length).toBe(32);
  });
});
