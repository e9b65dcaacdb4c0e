import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { loadSubnetEnv, missingKeys, parseSubnetEnv } from "./subnet-env.js";

const FLANNELD = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

describe("parseSubnetEnv", () => {
  it("reads what flanneld writes, subnet as its network address", () => {
    expect(parseSubnetEnv(FLANNELD, "f")).toEqual({
      networks: ["10.244.0.0/16"],
      ipv6Networks: [],
      subnet: "10.244.1.0/24",
      mtu: 1450,
      ipMasq: true,
    });
  });

  it("accepts CRLF, whitespace, comments, blank lines, export and quotes", () => {
    const text = [
      "# written by hand",
      "",
      '  FLANNEL_NETWORK = "10.244.0.0/16"  ',
      "export FLANNEL_SUBNET='10.244.1.1/24'",
      "\tFLANNEL_MTU=1450\t",
      "FLANNEL_IPMASQ=false",
      "   ",
    ].join("\r\n");
    expect(parseSubnetEnv(text, "f")).toEqual({
      networks: ["10.244.0.0/16"],
      ipv6Networks: [],
      subnet: "10.244.1.0/24",
      mtu: 1450,
      ipMasq: false,
    });
  });

  it("splits comma-separated networks, trims and de-duplicates them", () => {
    const env = parseSubnetEnv("FLANNEL_NETWORK=10.244.0.0/16, 10.245.0.0/16,10.244.7.0/16\n", "f");
    expect(env.networks).toEqual(["10.244.0.0/16", "10.245.0.0/16"]);
  });

  it("reads the IPv6 twins and normalizes them as Go prints them", () => {
    const env = parseSubnetEnv("FLANNEL_IPV6_NETWORK=FC00:0:0::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64\n", "f");
    expect(env.ipv6Networks).toEqual(["fc00::/48"]);
    expect(env.ipv6Subnet).toBe("fc00:0:0:1::/64");
  });

  it("ignores unknown keys and lets later duplicates win", () => {
    const env = parseSubnetEnv("FOO\nFLANNEL_MTU=1500\nOTHER=x=y\nFLANNEL_MTU=1450\n", "f");
    expect(env.mtu).toBe(1450);
  });

  const bad: Array<[string, string, RegExp]> = [
    ["FLANNEL_SUBNET=10.244.1.1\n", "FLANNEL_SUBNET", /f line 1: FLANNEL_SUBNET="10.244.1.1" is not a CIDR/],
    ["FLANNEL_SUBNET=fc00::1/64\n", "FLANNEL_SUBNET", /is not an IPv4 CIDR/],
    ["FLANNEL_IPV6_SUBNET=10.0.0.1/24\n", "FLANNEL_IPV6_SUBNET", /is not an IPv6 CIDR/],
    ["\n\nFLANNEL_NETWORK=10.244.0.0/16,bogus\n", "FLANNEL_NETWORK", /f line 3: FLANNEL_NETWORK="bogus"/],
    ["FLANNEL_NETWORK=,\n", "FLANNEL_NETWORK", /expected one or more comma-separated CIDRs/],
    ["FLANNEL_MTU=14x0\n", "FLANNEL_MTU", /FLANNEL_MTU="14x0" is not an MTU/],
    ["FLANNEL_MTU=99999999999\n", "FLANNEL_MTU", /is not an MTU/],
    ["FLANNEL_IPMASQ=yes\n", "FLANNEL_IPMASQ", /neither true nor false/],
    ["FLANNEL_IPMASQ\n", "FLANNEL_IPMASQ", /FLANNEL_IPMASQ="" is missing its "=value"/],
  ];
  it.each(bad)("rejects %j naming %s and the file", (text, key, message) => {
    const err = cniErrorOf(() => parseSubnetEnv(text, "f"));
    expect(err.code).toBe(6);
    expect(err.message).toMatch(/^failed to load flannel 'subnet.env' file: f line \d+: /);
    expect(err.message).toContain(key);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/\. Check the flannel pod log for this node\.$/);
  });

  it("lists only the missing groups, in upstream's words and order", () => {
    expect(missingKeys(parseSubnetEnv("FLANNEL_SUBNET=10.244.1.1/24\n", "f"))).toEqual([
      "FLANNEL_NETWORK",
      "FLANNEL_IPV6_NETWORK",
      "FLANNEL_MTU",
      "FLANNEL_IPMASQ",
    ]);
    expect(missingKeys(parseSubnetEnv(FLANNELD, "f"))).toEqual([]);
  });
});

describe("loadSubnetEnv", () => {
  const dir = mkdtempSync(join(tmpdir(), "flannel-subnet-env-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a missing file is code 11 (try again later) with upstream's prefix and a hint", () => {
    const file = join(dir, "absent.env");
    const err = cniErrorOf(() => loadSubnetEnv(file));
    expect(err.code).toBe(11);
    expect(err.message).toBe(
      `failed to load flannel 'subnet.env' file: open ${file}: no such file or directory. Check the flannel pod log for this node.`,
    );
    expect(err.details).toMatch(/flanneld writes this file/);
  });

  it("an incomplete file names the file and the missing keys", () => {
    const file = join(dir, "partial.env");
    writeFileSync(file, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n");
    const err = cniErrorOf(() => loadSubnetEnv(file));
    expect(err.code).toBe(6);
    expect(err.message).toContain(`${file} is missing FLANNEL_MTU, FLANNEL_IPMASQ.`);
  });

  it("a complete file loads", () => {
    const file = join(dir, "ok.env");
    writeFileSync(file, FLANNELD);
    expect(loadSubnetEnv(file)).toMatchObject({ subnet: "10.244.1.0/24", mtu: 1450, ipMasq: true });
  });
});
