import { describe, expect, it } from "vitest";
import { countExecs } from "./process-count.js";

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
