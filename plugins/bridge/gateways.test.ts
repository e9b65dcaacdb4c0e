import { describe, expect, it } from "vitest";
import { formatCidr } from "../../shared/net/ip.js";
import { calcGateways } from "./gateways.js";

describe("calcGateways", () => {
  it("points every IP at the pod interface and fills the first address as gateway with isGateway", () => {
    const g = calcGateways([{ address: "10.244.1.7/24" }, { address: "fd00::7/64" }], [], {
      isGateway: true,
      isDefaultGateway: false,
    });
    expect(g.ips).toEqual([
      { address: "10.244.1.7/24", gateway: "10.244.1.1", interface: 2 },
      { address: "fd00::7/64", gateway: "fd00::1", interface: 2 },
    ]);
    expect(g.bridgeAddrs[4].map(formatCidr)).toEqual(["10.244.1.1/24"]);
    expect(g.bridgeAddrs[6].map(formatCidr)).toEqual(["fd00::1/64"]);
    expect(g.routes).toEqual([]);
  });

  it("leaves gateways alone without isGateway (and puts nothing on the bridge)", () => {
    const g = calcGateways([{ address: "10.0.0.5/16", gateway: "10.0.0.254" }, { address: "10.1.0.5/16" }], [], {
      isGateway: false,
      isDefaultGateway: false,
    });
    expect(g.ips).toEqual([
      { address: "10.0.0.5/16", gateway: "10.0.0.254", interface: 2 },
      { address: "10.1.0.5/16", interface: 2 },
    ]);
    expect(g.bridgeAddrs).toEqual({ 4: [], 6: [] });
  });

  it("appends one default route per family unless IPAM gave one with a gateway", () => {
    const g = calcGateways(
      [{ address: "10.244.1.7/24" }, { address: "10.245.1.7/24" }, { address: "fd00::7/64" }],
      [{ dst: "10.244.0.0/16" }, { dst: "::/0", gw: "fd00::fe" }],
      { isGateway: true, isDefaultGateway: true },
    );
    expect(g.routes).toEqual([
      { dst: "10.244.0.0/16" },
      { dst: "::/0", gw: "fd00::fe" },
      { dst: "0.0.0.0/0", gw: "10.244.1.1" },
    ]);
    expect(g.bridgeAddrs[4].map(formatCidr)).toEqual(["10.244.1.1/24", "10.245.1.1/24"]);
  });

  it("a default route without a gateway does not count", () => {
    const g = calcGateways([{ address: "10.244.1.7/24" }], [{ dst: "0.0.0.0/0" }], {
      isGateway: true,
      isDefaultGateway: true,
    });
    expect(g.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "0.0.0.0/0", gw: "10.244.1.1" }]);
  });
});
