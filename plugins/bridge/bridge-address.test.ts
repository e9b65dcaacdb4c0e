import { describe, expect, it } from "vitest";
import { parseCidr } from "../../shared/net/ip.js";
import type { AddrInfo } from "../../shared/net/ip-json.js";
import { planBridgeAddrs } from "./bridge-address.js";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";

const addr = (cidr: string): AddrInfo => {
  const [local, len] = cidr.split("/");
  return {
    family: local!.includes(":") ? 6 : 4,
    local: local!,
    prefixlen: Number(len),
    scope: "global",
    tentative: false,
    dadfailed: false,
  };
};
const want = (...c: string[]) => c.map((x) => parseCidr(x)!);

describe("planBridgeAddrs (upstream's ensureAddr)", () => {
  it("counts the bridge's ports only when an address conflicts", () => {
    let counted = 0;
    const portsAttached = () => ++counted;
    planBridgeAddrs("cni0", [addr("10.244.1.1/24")], want("10.244.1.1/24"), { forceAddress: false, portsAttached });
    planBridgeAddrs("cni0", [], want("10.244.1.1/24"), { forceAddress: false, portsAttached });
    planBridgeAddrs("cni0", [addr("10.9.0.1/24")], want("10.244.1.1/24"), { forceAddress: true, portsAttached });
    expect(counted).toBe(0);
    expect(() =>
      planBridgeAddrs("cni0", [addr("10.9.0.1/24")], want("10.244.1.1/24"), { forceAddress: false, portsAttached }),
    ).toThrow(/1 interface\(s\) still attached/);
    expect(counted).toBe(1);
  });

  it("keeps an exact address and adds a missing one", () => {
    expect(
      planBridgeAddrs("cni0", [addr("10.244.1.1/24")], want("10.244.1.1/24"), {
        forceAddress: false,
        portsAttached: () => 3,
      }),
    ).toEqual({ del: [], add: [], notes: [] });
    expect(
      planBridgeAddrs("cni0", [addr("fe80::1/64")], want("10.244.1.1/24", "fd00::1/64"), {
        forceAddress: false,
        portsAttached: () => 3,
      }).add,
    ).toEqual(["10.244.1.1/24", "fd00::1/64"]);
  });

  it("the dead end keeps upstream's text and says what was found and what to do", () => {
    const e = cniErrorOf(() =>
      planBridgeAddrs("cni0", [addr("10.244.7.1/24")], want("10.244.1.1/24"), {
        forceAddress: false,
        portsAttached: () => 2,
      }),
    );
    expect(e.message).toBe(
      'failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24 (it has 10.244.7.1/24; 2 interface(s) still attached)',
    );
    expect(e.details).toMatch(/forceAddress/);
  });

  it("IPv6: only an overlapping prefix conflicts", () => {
    const p = planBridgeAddrs("cni0", [addr("fd01::1/64"), addr("fe80::1/64")], want("fd02::1/64"), {
      forceAddress: false,
      portsAttached: () => 1,
    });
    expect(p).toEqual({ del: [], add: ["fd02::1/64"], notes: [] });
    expect(() =>
      planBridgeAddrs("cni0", [addr("fd02::9/48")], want("fd02::1/64"), {
        forceAddress: false,
        portsAttached: () => 1,
      }),
    ).toThrow(/already has an IP address different from fd02::1\/64/);
  });

  it("replaces with forceAddress, or by itself once no port is attached, and says so", () => {
    const forced = planBridgeAddrs("cni0", [addr("10.244.7.1/24")], want("10.244.1.1/24"), {
      forceAddress: true,
      portsAttached: () => 2,
    });
    expect(forced.del).toEqual(["10.244.7.1/24"]);
    expect(forced.add).toEqual(["10.244.1.1/24"]);
    expect(forced.notes[0]).toContain("forceAddress is set");
    const healed = planBridgeAddrs("cni0", [addr("10.244.7.1/24")], want("10.244.1.1/24"), {
      forceAddress: false,
      portsAttached: () => 0,
    });
    expect(healed.del).toEqual(["10.244.7.1/24"]);
    expect(healed.notes[0]).toBe(
      'bridge: replacing 10.244.7.1/24 on "cni0" with 10.244.1.1/24 (no interface is attached to "cni0" any more)',
    );
  });

  it("a second IPv4 gateway conflicts with the first, as upstream's sequence does", () => {
    expect(() =>
      planBridgeAddrs("cni0", [], want("10.1.0.1/24", "10.2.0.1/24"), { forceAddress: false, portsAttached: () => 1 }),
    ).toThrow(/different from 10.2.0.1\/24 \(it has 10.1.0.1\/24/);
  });
});
