import { describe, expect, it } from "vitest";
import { routeInterface } from "./route-localnet.js";

// /proc/net/route of a node: default via eth0, 10.244.0.0/16 via flannel.1, 10.244.1.0/24 on cni0.
const TABLE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
flannel.1\t0000F40A\t0000F40A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0
cni0\t0001F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
down0\t0201F40A\t00000000\t0000\t0\t0\t0\tFFFFFFFF\t0\t0\t0
`;

describe("route to the container", () => {
  it("picks the longest matching prefix of an up route", () => {
    expect(routeInterface("10.244.1.2", TABLE)).toBe("cni0");
    expect(routeInterface("10.244.7.2", TABLE)).toBe("flannel.1");
    expect(routeInterface("192.0.2.1", TABLE)).toBe("eth0");
    expect(routeInterface("192.0.2.1", TABLE.split("\n").slice(0, 1).join("\n"))).toBeUndefined();
  });
});
