import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../shared/cni/errors.js";
import { collectVlanTrunk, loadBridgeConf } from "./config.js";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { invocationOf } from "../../conformance-tests/lib/unit/invocation.js";

const load = (conf: Record<string, unknown>, args = "") => loadBridgeConf(invocationOf(conf, args));

describe("loadBridgeConf", () => {
  it("has upstream's defaults", () => {
    const c = load({});
    expect(c).toMatchObject({
      bridge: "cni0",
      isGateway: false,
      ipMasq: false,
      mtu: 0,
      hairpinMode: false,
      vlan: 0,
      vlans: undefined,
      preserveDefaultVlan: false,
      ipamType: "",
      dns: undefined,
      mac: undefined,
      ipMasqBackend: undefined,
    });
  });

  it("isDefaultGateway implies isGateway; null fields read as unset like Go", () => {
    const c = load({ isDefaultGateway: true, mtu: null, hairpinMode: null });
    expect(c.isGateway).toBe(true);
    expect(c.mtu).toBe(0);
  });

  it("rejects what upstream rejects, with its texts and code 7", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ vlan: 4095 }, "invalid VLAN ID 4095 (must be between 0 and 4094)"],
      [{ vlan: -1 }, "invalid VLAN ID -1 (must be between 0 and 4094)"],
      [{ vlan: 5, vlanTrunk: [{ id: 6 }] }, "cannot set vlan and vlanTrunk at the same time"],
      [{ hairpinMode: true, promiscMode: true }, "cannot set hairpin mode and promiscuous mode at the same time"],
      [
        { disableContainerInterface: true, ipam: { type: "host-local" } },
        "cannot use IPAM when DisableContainerInterface flag is set",
      ],
      [{ ipMasqBackend: "pf" }, 'unknown ipmasq backend "pf"'],
      [
        { bridge: "a-bridge-name-too-long" },
        'invalid bridge name "a-bridge-name-too-long": interface name is too long',
      ],
    ];
    for (const [conf, msg] of cases) {
      const e = cniErrorOf(() => load(conf));
      expect(e.message).toBe(msg);
      expect(e.code).toBe(ErrorCode.InvalidNetworkConfig);
    }
    expect(cniErrorOf(() => load({ mtu: "1450" })).message).toMatch(/^invalid bridge config: mtu: /);
  });

  it("DEL does not fail over ADD-only checks", () => {
    const inv = invocationOf({ hairpinMode: true, promiscMode: true });
    expect(loadBridgeConf(inv, { forDel: true }).hairpinMode).toBe(true);
  });

  it("takes the MAC from runtimeConfig, then args.cni.mac, then CNI_ARGS MAC", () => {
    const args = "IgnoreUnknown=1;MAC=0A:58:00:00:00:03";
    expect(load({}, args).mac).toBe("0a:58:00:00:00:03");
    expect(load({ args: { cni: { mac: "0a:58:00:00:00:02" } } }, args).mac).toBe("0a:58:00:00:00:02");
    expect(
      load({ args: { cni: { mac: "0a:58:00:00:00:02" } }, runtimeConfig: { Mac: "0a:58:00:00:00:01" } }, args).mac,
    ).toBe("0a:58:00:00:00:01");
    expect(cniErrorOf(() => load({ runtimeConfig: { mac: "zz" } })).message).toBe('invalid MAC address "zz"');
    expect(cniErrorOf(() => load({}, "MAC=0a:58:00:00:00:03;FOO=1")).message).toBe("ARGS: unknown args [FOO]");
  });

  it("matches keys as Go's encoding/json does: any case, KELVIN SIGN and LONG S included", () => {
    const c = load({
      Bridge: "brcase",
      IsGateway: true,
      HAIRPINMODE: true,
      "MAC\u017fPOOFCH\u212a": true,
      MTU: 1400,
      IPAM: { Type: "host-local" },
      DNS: { Nameservers: ["10.96.0.10"] },
      Args: { CNI: { MAC: "0a:58:00:00:00:02" } },
      RuntimeConfig: { Mac: "0A:58:00:00:00:01" },
    });
    expect(c).toMatchObject({
      bridge: "brcase",
      isGateway: true,
      hairpinMode: true,
      macspoofchk: true,
      mtu: 1400,
      ipamType: "host-local",
      dns: { nameservers: ["10.96.0.10"] },
      mac: "0a:58:00:00:00:01",
    });
    expect(load({ Args: { Cni: { Mac: "0a:58:00:00:00:02" } } }).mac).toBe("0a:58:00:00:00:02");
    // The last key for a field wins, in document order.
    expect(load({ bridge: "first", BRIDGE: "last" }).bridge).toBe("last");
  });

  it("keeps config DNS only when a field is set", () => {
    expect(load({ dns: {} }).dns).toBeUndefined();
    expect(load({ dns: { nameservers: ["10.96.0.10"] } }).dns).toEqual({ nameservers: ["10.96.0.10"] });
  });
});

describe("collectVlanTrunk", () => {
  it("merges ids and ranges, sorted and unique", () => {
    expect(collectVlanTrunk([{ id: 7 }, { minID: 3, maxID: 5 }, { id: 4 }])).toEqual([3, 4, 5, 7]);
  });
  it("has upstream's messages", () => {
    expect(cniErrorOf(() => collectVlanTrunk([{ id: 0 }])).message).toBe("incorrect trunk id parameter");
    expect(cniErrorOf(() => collectVlanTrunk([{ minID: 0, maxID: 3 }])).message).toBe(
      "incorrect trunk minID parameter",
    );
    expect(cniErrorOf(() => collectVlanTrunk([{ minID: 1, maxID: 4095 }])).message).toBe(
      "incorrect trunk maxID parameter",
    );
    expect(cniErrorOf(() => collectVlanTrunk([{ minID: 9, maxID: 3 }])).message).toBe(
      "minID is greater than maxID in trunk parameter",
    );
    expect(cniErrorOf(() => collectVlanTrunk([{ maxID: 3 }])).message).toBe(
      "minID and maxID should be configured simultaneously, minID is missing",
    );
    expect(cniErrorOf(() => collectVlanTrunk([{ minID: 3 }])).message).toBe(
      "minID and maxID should be configured simultaneously, maxID is missing",
    );
  });
});
