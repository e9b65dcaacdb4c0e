import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findNamespaces, parseBriefAddresses } from "./netns-scan.js";

describe("parseBriefAddresses", () => {
  it("takes every address of every link, without prefixes", () => {
    const text =
      "lo               UNKNOWN        127.0.0.1/8 ::1/128 \neth0@if7         UP             10.244.1.2/24 fe80::a8c1:abff:fe12:3456/64 \ncni0 DOWN \n";
    expect(parseBriefAddresses(text)).toEqual(["127.0.0.1", "::1", "10.244.1.2", "fe80::a8c1:abff:fe12:3456"]);
  });
});

describe("findNamespaces on a fake /proc", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "netns-scan-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("groups thread, fd and mountinfo handles by inode and ignores other namespace kinds", () => {
    const proc = join(root, "proc");
    mkdirSync(join(proc, "self"), { recursive: true });
    writeFileSync(
      join(proc, "self/mountinfo"),
      [
        "1 0 0:5 / / rw - ext4 /dev/sda1 rw",
        "500 30 0:4 net:[4026532001] /run/netns/pod\\040a rw,nosuid - nsfs nsfs rw",
        "501 30 0:4 mnt:[4026532002] /run/other rw - nsfs nsfs rw",
      ].join("\n"),
    );
    for (const [pid, tid, ns] of [
      ["10", "10", "4026531840"],
      ["10", "11", "4026532001"],
      ["20", "20", "4026531840"],
    ] as const) {
      mkdirSync(join(proc, pid, "task", tid, "ns"), { recursive: true });
      symlinkSync(`net:[${ns}]`, join(proc, pid, "task", tid, "ns/net"));
    }
    mkdirSync(join(proc, "20/fd"), { recursive: true });
    symlinkSync("net:[4026532003]", join(proc, "20/fd/5"));
    symlinkSync("/dev/null", join(proc, "20/fd/0"));
    const found = findNamespaces({ proc, pinDirs: [], readAddresses: () => [] });
    expect(Object.fromEntries(found)).toEqual({
      "4026531840": [join(proc, "10/task/10/ns/net"), join(proc, "20/task/20/ns/net")],
      "4026532001": ["/run/netns/pod a", join(proc, "10/task/11/ns/net")],
      "4026532003": [join(proc, "20/fd/5")],
    });
  });
});
