import { describe, expect, it } from "vitest";
import { type NormaliseContext, normaliserFor } from "./normalise.js";

const ctx: NormaliseContext = {
  dir: "/tmp/cts-1-abc",
  name: "cts-1-1abc",
  path: "/var/run/netns/cts-1-1abc",
  token: "f00d42",
  pods: [{ label: "a", name: "cts-1-1abc-a", path: "/var/run/netns/cts-1-1abc-a", containerId: "cts-f00d42-a" }],
  subnet: (i = 0) => `10.${20 + i}.7.0/24`,
  subnet6: (i = 0) => `fd00:${i}:1:2::/64`,
};

describe("normaliserFor", () => {
  const n = normaliserFor(ctx, new Map([["veth1234abcd", "veth<a:eth0>"]]));

  it("replaces MACs, netns paths, the token, subnets and known veth names", () => {
    expect(
      n({
        interfaces: [
          { name: "cbf00d42", mac: "0A:58:0a:14:07:01" },
          { name: "veth1234abcd", mac: "aa:bb:cc:dd:ee:ff" },
          { name: "eth0", sandbox: "/var/run/netns/cts-1-1abc-a" },
        ],
        ips: [{ address: "10.20.7.2/24", gateway: "10.20.7.1" }, { address: "fd00:1:1:2::5/64" }],
        dataDir: "/tmp/cts-1-abc/data",
      }),
    ).toEqual({
      interfaces: [
        { name: "cb<token>", mac: "<mac>" },
        { name: "veth<a:eth0>", mac: "<mac>" },
        { name: "eth0", sandbox: "<netns:a>" },
      ],
      ips: [{ address: "<net0>.2/24", gateway: "<net0>.1" }, { address: "<net6-1>::5/64" }],
      dataDir: "<dir>/data",
    });
  });

  it("rewrites object keys too (state maps are keyed by link names and file paths)", () => {
    expect(n({ "net-f00d42/10.21.7.9": "cts-f00d42-a\r\neth0" })).toEqual({
      "net-<token>/<net1>.9": "cts-<token>-a\r\neth0",
    });
  });

  it("hides unknown random veth names and MAC-derived IPv6 link-local addresses, keeps fe80::1", () => {
    expect(n.text("vethdeadbeef fe80::a090:f8ff:fe9d:7e50/64 fe80::d1ff:fe89:a4ec fe80::1")).toBe(
      "veth<?> fe80::<eui64>/64 fe80::<eui64> fe80::1",
    );
  });

  it("leaves everything else byte for byte", () => {
    expect(n.text("10.99.7.2 eth0 cni0 1500")).toBe("10.99.7.2 eth0 cni0 1500");
  });
});
