import { describe, expect, it } from "vitest";
import { parseLink } from "../../shared/net/ip-json.js";
import { loopbackAddresses, loopbackOf } from "./lo-state.js";

const lo = (flags: string[], addrs: { family: string; local: string; prefixlen: number }[]) =>
  parseLink({ ifindex: 1, ifname: "lo", flags, addr_info: addrs });

describe("loopback state", () => {
  it("reads up-ness and addresses from the kernel's view of lo", () => {
    const link = loopbackOf(
      lo(
        ["LOOPBACK", "UP", "LOWER_UP"],
        [
          { family: "inet", local: "127.0.0.1", prefixlen: 8 },
          { family: "inet6", local: "::1", prefixlen: 128 },
        ],
      ),
    );
    expect(link).toEqual({ up: true, v4: ["127.0.0.1/8"], v6: ["::1/128"] });
    expect(loopbackAddresses(link)).toEqual({ v4: "127.0.0.1/8", v6: "::1/128" });
    expect(loopbackOf(lo(["LOOPBACK"], [])).up).toBe(false);
  });

  it("refuses a non-loopback address with upstream's message", () => {
    const link = loopbackOf(lo(["UP"], [{ family: "inet", local: "10.1.1.1", prefixlen: 32 }]));
    expect(() => loopbackAddresses(link)).toThrow('loopback interface found with non-loopback address "10.1.1.1"');
  });

  it("fails clearly when lo is not listed", () => {
    expect(() => loopbackOf(undefined)).toThrow(/no lo interface/);
  });
});
