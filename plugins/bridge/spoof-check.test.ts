import { describe, expect, it } from "vitest";
import { spoofCheckScript } from "./spoof-check.js";

describe("macspoofchk script (upstream's pkg/link layout)", () => {
  it("declares table and chains, flushes the per-port chains, then jumps, allows the MAC, drops the rest", () => {
    expect(spoofCheckScript("veth01234567", "0a:58:00:00:00:01", "c1", "eth0").trim().split("\n")).toEqual([
      "add table bridge nat",
      "add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }",
      "add chain bridge nat cni-br-iface-c1-eth0",
      "add chain bridge nat cni-br-iface-c1-eth0-mac",
      "flush chain bridge nat cni-br-iface-c1-eth0",
      "flush chain bridge nat cni-br-iface-c1-eth0-mac",
      'add rule bridge nat PREROUTING iifname "veth01234567" jump cni-br-iface-c1-eth0 comment "macspoofchk-c1-eth0"',
      'add rule bridge nat cni-br-iface-c1-eth0 jump cni-br-iface-c1-eth0-mac comment "macspoofchk-c1-eth0"',
      'add rule bridge nat cni-br-iface-c1-eth0-mac ether saddr 0a:58:00:00:00:01 return comment "macspoofchk-c1-eth0"',
      'add rule bridge nat cni-br-iface-c1-eth0-mac drop comment "macspoofchk-c1-eth0"',
    ]);
  });
});
