import { describe, expect, it } from "vitest";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { buildInvocation } from "../../shared/cni/invocation.js";
import { parseResult } from "../../shared/cni/result.js";
import { containerAddresses, mappingsFor, parsePortmapConf, readPortMappings } from "./config.js";

const both = () => ({ iptables: true, nftables: true });
const parse = (raw: Record<string, unknown>, tools = both) => parsePortmapConf(raw, "net", raw.runtimeConfig, tools);

describe("portmap config", () => {
  it("applies upstream's defaults", () => {
    const c = parse({});
    expect(c).toMatchObject({ snat: true, masqAll: false, markMasqBit: 13, backend: "iptables", mappings: [] });
  });

  it("matches its own keys and a RuntimeConfig key as Go does", () => {
    const inv = buildInvocation(
      "ADD",
      { command: "ADD", containerId: "c1", netns: "", ifname: "eth0", args: "", path: [], netnsOverride: false },
      Buffer.from(
        JSON.stringify({
          cniVersion: "1.0.0",
          name: "net",
          SNAT: false,
          MarkMasqBit: 5,
          RuntimeConfig: { PortMappings: [{ HostPort: 18080, ContainerPort: 8080, Protocol: "UDP" }] },
        }),
      ),
      {},
    );
    const c = parsePortmapConf(inv.raw, inv.conf.name, inv.conf.runtimeConfig, both);
    expect(c).toMatchObject({
      snat: false,
      markMasqBit: 5,
      mappings: [{ hostPort: 18080, containerPort: 8080, protocol: "udp", hostIP: "" }],
    });
  });

  it("reads podman's and containerd's key spellings alike", () => {
    const lower = readPortMappings({ portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: "tcp" }] });
    const upper = readPortMappings({
      PortMappings: [{ HostPort: 18080, ContainerPort: 8080, Protocol: "TCP", HostIP: "" }],
    });
    expect(upper).toEqual(lower);
    expect(lower).toEqual([{ hostPort: 18080, containerPort: 8080, protocol: "tcp", hostIP: "" }]);
  });

  it("canonicalises hostIP and defaults the protocol to tcp", () => {
    expect(readPortMappings({ portMappings: [{ hostPort: 1, containerPort: 2, hostIP: "FD00:0::1" }] })[0]).toEqual({
      hostPort: 1,
      containerPort: 2,
      protocol: "tcp",
      hostIP: "fd00::1",
    });
  });

  it("rejects bad ports, protocols and addresses with code 7 naming the field", () => {
    for (const m of [
      { hostPort: 0, containerPort: 80 },
      { hostPort: 80, containerPort: 70000 },
      { hostPort: 80, containerPort: 80, protocol: "icmp" },
      { hostPort: 80, containerPort: 80, hostIP: "not-an-ip" },
      { hostPort: "80", containerPort: 80 },
    ]) {
      expect(cniErrorOf(() => parse({ runtimeConfig: { portMappings: [m] } })).code).toBe(7);
    }
    expect(() => parse({ runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } })).toThrow(
      /portMappings\.0\.hostPort/,
    );
  });

  it("refuses options that contradict each other or the backend", () => {
    expect(() => parse({ markMasqBit: 5, externalSetMarkChain: "KUBE-MARK-MASQ" })).toThrow(
      "Cannot specify externalSetMarkChain and markMasqBit",
    );
    expect(cniErrorOf(() => parse({ markMasqBit: 32 })).code).toBe(7);
    expect(cniErrorOf(() => parse({ backend: "nftables", externalSetMarkChain: "X" })).code).toBe(7);
    expect(cniErrorOf(() => parse({ backend: "iptables", conditionsV4: ["ip", "saddr", "1.2.3.4"] })).code).toBe(7);
    expect(
      cniErrorOf(() => parse({ conditionsV4: ["-s", "1.2.3.4"], conditionsV6: ["ip6", "saddr", "::1"] })).code,
    ).toBe(7);
    expect(
      cniErrorOf(() => parse({ backend: "nftables", conditionsV4: ["ip saddr 1.1.1.1; flush ruleset"] })).code,
    ).toBe(7);
  });

  it("picks the backend from the conditions' syntax, the options, then the tools present", () => {
    expect(parse({ conditionsV4: ["ip", "daddr", "!=", "192.0.2.1"] }).backend).toBe("nftables");
    expect(parse({ conditionsV6: ["!", "-d", "fc00::/7"] }).backend).toBe("iptables");
    expect(parse({ externalSetMarkChain: "KUBE-MARK-MASQ" }, () => ({ iptables: false, nftables: true })).backend).toBe(
      "iptables",
    );
    const mapped = { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } };
    expect(parse(mapped, () => ({ iptables: false, nftables: true })).backend).toBe("nftables");
    expect(parse(mapped, () => ({ iptables: true, nftables: true })).backend).toBe("iptables");
    // Nothing to map: the tools are not looked for.
    expect(
      parse({}, () => {
        throw new Error("probed");
      }).mappings,
    ).toEqual([]);
    expect(parse({ backend: "nftables" }).backend).toBe("nftables");
  });
});

describe("container addresses from prevResult", () => {
  const prev = parseResult(
    {
      cniVersion: "1.0.0",
      interfaces: [
        { name: "cni0" },
        { name: "vethx" },
        { name: "eth0", sandbox: "/var/run/netns/p" },
        { name: "net1", sandbox: "/var/run/netns/p" },
      ],
      ips: [
        { address: "10.1.0.1/24", interface: 0 },
        { address: "10.2.0.5/24", interface: 3 },
        { address: "10.244.1.2/24", interface: 2 },
        { address: "10.244.1.3/24", interface: 2 },
        { address: "fd00::2/64" },
      ],
    },
    "1.0.0",
  );

  it("takes the first v4 and v6 on CNI_IFNAME in the sandbox (or without an interface index)", () => {
    expect(containerAddresses(prev, "eth0").map((a) => `${a.ip}/${a.prefix} ${a.network}`)).toEqual([
      "10.244.1.2/24 10.244.1.0",
      "fd00::2/64 fd00::",
    ]);
    expect(containerAddresses(prev, "net1").map((a) => a.ip)).toEqual(["10.2.0.5", "fd00::2"]);
  });

  it("keeps mappings whose hostIP is of the address family (or none)", () => {
    const maps = readPortMappings({
      portMappings: [
        { hostPort: 1, containerPort: 1 },
        { hostPort: 2, containerPort: 2, hostIP: "::" },
        { hostPort: 3, containerPort: 3, hostIP: "0.0.0.0" },
      ],
    });
    expect(mappingsFor(maps, 4).map((m) => m.hostPort)).toEqual([1, 3]);
    expect(mappingsFor(maps, 6).map((m) => m.hostPort)).toEqual([1, 2]);
  });
});
