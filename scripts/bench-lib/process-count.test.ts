import { describe, expect, it } from "vitest";
import { addServiceChildren, countExecs } from "./process-count.js";

describe("countExecs", () => {
  it("counts successful execs: the client, then plugins from CNI_PATH, then everything else by name", () => {
    const log = [
      '100 execve("/x/cnitool", ["cnitool", "add"], 0x7ffd /* 5 vars */) = 0',
      '101 execve("/usr/local/sbin/ip", ["ip"], 0x7ffd /* 3 vars */) = -1 ENOENT (No such file or directory)',
      '101 execve("/opt/cni/bin/flannel", ["flannel"], 0x7ffd /* 9 vars */) = 0',
      '102 execve("/usr/sbin/ip", ["ip", "-batch", "-"], 0x7ffd /* 2 vars */) = 0',
      '103 execve("/usr/sbin/ip", ["ip", "-batch", "-"], 0x7ffd /* 2 vars */) = 0',
      '104 execve("/opt/cni/bin/portmap", ["portmap"], 0x7ffd /* 9 vars */) = 0',
      '105 execve("/usr/sbin/iptables-restore", ["iptables-restore"], 0x7ffd /* 2 vars */) = 0',
      "105 +++ exited with 0 +++",
    ].join("\n");
    expect(countExecs(log, ["/opt/cni/bin/"])).toEqual({
      plugins: 2,
      others: 3,
      otherNames: ["ip", "ip", "iptables-restore"],
    });
    expect(countExecs("", ["/opt/cni/bin"])).toEqual({ plugins: 0, others: 0, otherNames: [] });
  });
});

describe("addServiceChildren", () => {
  it("adds what the resident service started for the call, by program name, to the client-side count", () => {
    const records = [
      {
        plugin: "flannel",
        verb: "ADD",
        ms: {},
        netlink: [],
        processes: [{ cmd: "ip -batch - (3 lines)", ms: 1, status: 0 }],
      },
      {
        plugin: "portmap",
        verb: "ADD",
        ms: {},
        netlink: [],
        processes: [{ cmd: "iptables-restore -w", ms: 2, status: 0 }],
      },
    ];
    expect(addServiceChildren({ plugins: 2, others: 0, otherNames: [] }, records)).toEqual({
      plugins: 2,
      others: 2,
      otherNames: ["ip", "iptables-restore"],
    });
  });
});
