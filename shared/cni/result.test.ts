import { describe, expect, it } from "vitest";
import { CniError } from "./errors.js";
import { formatResult, parseResult, type Result } from "./result.js";
import { SUPPORTED_VERSIONS } from "./versions.js";

const bridgeResult: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "cni0", mac: "aa:bb:cc:00:00:01" },
    { name: "veth1a2b3c4d", mac: "aa:bb:cc:00:00:02" },
    { name: "eth0", mac: "aa:bb:cc:00:00:03", sandbox: "/var/run/netns/cni-1234" },
  ],
  ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1", interface: 2 }],
  routes: [{ dst: "10.244.0.0/16" }, { dst: "0.0.0.0/0", gw: "10.244.1.1" }],
  dns: {},
};

describe("formatResult", () => {
  it("prints 1.0.0 with keys sorted at every level and no empty dns (reference §1.7)", () => {
    expect(formatResult(bridgeResult, "1.0.0")).toBe(`{
    "cniVersion": "1.0.0",
    "interfaces": [
        {
            "mac": "aa:bb:cc:00:00:01",
            "name": "cni0"
        },
        {
            "mac": "aa:bb:cc:00:00:02",
            "name": "veth1a2b3c4d"
        },
        {
            "mac": "aa:bb:cc:00:00:03",
            "name": "eth0",
            "sandbox": "/var/run/netns/cni-1234"
        }
    ],
    "ips": [
        {
            "address": "10.244.1.2/24",
            "gateway": "10.244.1.1",
            "interface": 2
        }
    ],
    "routes": [
        {
            "dst": "10.244.0.0/16"
        },
        {
            "dst": "0.0.0.0/0",
            "gw": "10.244.1.1"
        }
    ]
}`);
  });

  it("prints 0.3.1 in Go struct order with version, interface index and an empty dns", () => {
    const hostLocal: Result = {
      cniVersion: "0.3.1",
      interfaces: [],
      ips: [
        { address: "10.244.1.2/24", gateway: "10.244.1.1" },
        { address: "fc00::2/64", gateway: "fc00::1" },
      ],
      routes: [{ dst: "10.244.0.0/16" }, { dst: "fc00::/48" }],
      dns: {},
    };
    expect(formatResult(hostLocal, "0.3.1")).toBe(`{
    "cniVersion": "0.3.1",
    "ips": [
        {
            "version": "4",
            "address": "10.244.1.2/24",
            "gateway": "10.244.1.1"
        },
        {
            "version": "6",
            "address": "fc00::2/64",
            "gateway": "fc00::1"
        }
    ],
    "routes": [
        {
            "dst": "10.244.0.0/16"
        },
        {
            "dst": "fc00::/48"
        }
    ],
    "dns": {}
}`);
  });

  it("keeps interface index 0 in 0.4.0 and orders interface keys name, mac, sandbox", () => {
    const r: Result = {
      cniVersion: "0.4.0",
      interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: "/run/netns/x" }],
      ips: [{ address: "127.0.0.1/8", interface: 0 }],
      routes: [],
      dns: { nameservers: ["10.0.0.10"], search: ["svc"] },
    };
    expect(JSON.parse(formatResult(r, "0.4.0"))).toEqual({
      cniVersion: "0.4.0",
      interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: "/run/netns/x" }],
      ips: [{ version: "4", interface: 0, address: "127.0.0.1/8" }],
      dns: { nameservers: ["10.0.0.10"], search: ["svc"] },
    });
    expect(formatResult(r, "0.4.0")).toContain(`"name": "lo",\n            "mac"`);
  });

  it("prints 0.2.0 with the first address per family and routes split by family", () => {
    const r: Result = {
      ...bridgeResult,
      ips: [...bridgeResult.ips, { address: "10.244.1.3/24" }, { address: "fc00::2/64", gateway: "fc00::1" }],
      routes: [...bridgeResult.routes, { dst: "::/0", gw: "fc00::1" }],
    };
    expect(formatResult(r, "0.2.0")).toBe(`{
    "cniVersion": "0.2.0",
    "ip4": {
        "ip": "10.244.1.2/24",
        "gateway": "10.244.1.1",
        "routes": [
            {
                "dst": "10.244.0.0/16"
            },
            {
                "dst": "0.0.0.0/0",
                "gw": "10.244.1.1"
            }
        ]
    },
    "ip6": {
        "ip": "fc00::2/64",
        "gateway": "fc00::1",
        "routes": [
            {
                "dst": "::/0",
                "gw": "fc00::1"
            }
        ]
    },
    "dns": {}
}`);
  });

  it("refuses to down-convert a result without addresses to 0.1.0/0.2.0", () => {
    const r: Result = { cniVersion: "1.0.0", interfaces: [{ name: "eth0" }], ips: [], routes: [], dns: {} };
    expect(() => formatResult(r, "0.2.0")).toThrowError(/cannot convert: no valid IP addresses/);
  });

  it("escapes HTML characters like Go's encoder", () => {
    const r: Result = { ...bridgeResult, dns: { domain: "a<b>&c" } };
    expect(formatResult(r, "1.0.0")).toContain('"domain": "a\\u003cb\\u003e\\u0026c"');
  });

  it("1.1.0 keeps route and interface extras that 0.4.0 drops", () => {
    const r: Result = {
      ...bridgeResult,
      interfaces: [{ name: "eth0", mtu: 1450, sandbox: "/run/netns/p" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", mtu: 1400, table: 100, scope: 0 }],
    };
    expect(JSON.parse(formatResult(r, "1.1.0")).interfaces[0]).toEqual({
      mtu: 1450,
      name: "eth0",
      sandbox: "/run/netns/p",
    });
    expect(JSON.parse(formatResult(r, "0.4.0")).interfaces[0]).toEqual({ name: "eth0", sandbox: "/run/netns/p" });
    expect(JSON.parse(formatResult(r, "1.1.0")).routes[0]).toEqual({
      dst: "0.0.0.0/0",
      gw: "10.0.0.1",
      mtu: 1400,
      table: 100,
      scope: 0,
    });
  });
});

describe("parseResult", () => {
  it("reads 0.2.0 ip4/ip6 into ips and concatenated routes (spec-upgrades)", () => {
    const r = parseResult(
      {
        cniVersion: "0.2.0",
        ip4: { ip: "10.1.0.5/16", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0" }] },
        ip6: { ip: "fd00::5/64" },
        dns: {},
      },
      "1.0.0",
    );
    expect(JSON.parse(formatResult(r, "1.0.0"))).toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1" }, { address: "fd00::5/64" }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
  });

  it("takes the config's version when cniVersion is missing", () => {
    const r = parseResult({ ips: [{ version: "4", address: "10.0.0.2/24" }] }, "0.4.0");
    expect(r.cniVersion).toBe("0.4.0");
    expect(r.ips).toEqual([{ address: "10.0.0.2/24" }]);
  });

  it("rejects a result that is not an object or has wrong types, with code 6", () => {
    expect(() => parseResult([], "1.0.0")).toThrowError(CniError);
    try {
      parseResult({ cniVersion: "1.0.0", ips: [{ address: 5 }] }, "1.0.0");
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).code).toBe(6);
      expect((e as CniError).message).toMatch(/ips/);
    }
  });

  it("rejects an unknown result version with code 1", () => {
    expect(() => parseResult({ cniVersion: "9.9.9" }, "1.0.0")).toThrowError(/unsupported CNI result version "9.9.9"/);
  });

  it("converts between every pair of versions without losing what the target can hold", () => {
    const full: Result = {
      ...bridgeResult,
      ips: [...bridgeResult.ips, { address: "fc00::2/64", gateway: "fc00::1", interface: 2 }],
    };
    for (const from of SUPPORTED_VERSIONS) {
      const printed = JSON.parse(formatResult(full, from));
      const reread = parseResult(printed, from);
      for (const to of SUPPORTED_VERSIONS) {
        const out = JSON.parse(formatResult(reread, to));
        expect(out.cniVersion).toBe(to);
        if (to === "0.1.0" || to === "0.2.0") {
          expect(out.ip4.ip).toBe("10.244.1.2/24");
          expect(out.ip6.ip).toBe("fc00::2/64");
        } else {
          const addrs = out.ips.map((ip: { address: string }) => ip.address);
          expect(addrs).toEqual(["10.244.1.2/24", "fc00::2/64"]);
          if (from !== "0.1.0" && from !== "0.2.0") expect(out.interfaces).toHaveLength(3);
          if (to.startsWith("0.")) expect(out.ips[1].version).toBe("6");
          else expect(out.ips[1].version).toBeUndefined();
        }
      }
    }
  });
});

describe("parseResult address validation (as Go's ParseCIDR/ParseIP when libcni reads a result)", () => {
  it.each([
    [{ cniVersion: "1.0.0", ips: [{ address: "not-an-ip" }] }, "1.0.0"],
    [{ cniVersion: "1.0.0", ips: [{ address: "10.0.0.300/24" }] }, "1.0.0"],
    [{ cniVersion: "1.0.0", ips: [{ address: "10.0.0.3" }] }, "1.0.0"],
    [{ cniVersion: "1.0.0", ips: [{ address: "10.0.0.3/33" }] }, "1.0.0"],
    [{ cniVersion: "1.0.0", ips: [{ address: "10.0.0.3/24", gateway: "gw" }] }, "1.0.0"],
    [{ cniVersion: "1.0.0", routes: [{ dst: "default" }] }, "1.0.0"],
    [{ cniVersion: "0.4.0", ips: [{ version: "4", address: "fc00::1/129" }] }, "0.4.0"],
    [{ cniVersion: "0.2.0", ip4: { ip: "10.1.1.1" } }, "0.2.0"],
  ])("rejects %j with code 6", (raw, v) => {
    expect(() => parseResult(raw, v, "prevResult")).toThrowError(/failed to parse prevResult/);
    try {
      parseResult(raw, v);
    } catch (e) {
      expect((e as CniError).code).toBe(6);
    }
  });

  it("accepts IPv4, IPv6 and default routes", () => {
    const r = parseResult(
      {
        cniVersion: "1.0.0",
        ips: [
          { address: "10.0.0.3/24", gateway: "10.0.0.1" },
          { address: "fc00::3/64", gateway: "fc00::1" },
        ],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fc00::1" }],
      },
      "1.0.0",
    );
    expect(r.ips).toHaveLength(2);
    expect(r.routes).toHaveLength(2);
  });
});
