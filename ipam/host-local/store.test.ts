import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseIp } from "../../shared/net/ip.js";
import { LockedStore, ownerOf, storeDir, withLockedStore } from "./store.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "host-local-store-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ip = (s: string) => parseIp(s)!;

describe("store", () => {
  it("reserve is exclusive even against a file created after the directory was read", () => {
    const store = new LockedStore(dir);
    writeFileSync(join(dir, "10.0.0.2"), "other\r\neth0");
    expect(store.reserve(ip("10.0.0.2"), "me", "eth0")).toBe(false);
    expect(readFileSync(join(dir, "10.0.0.2"), "utf8")).toBe("other\r\neth0");
    expect(store.reserve(ip("10.0.0.3"), "me", "eth0")).toBe(true);
    store.close();
    expect(readdirSync(dir).sort()).toEqual(["10.0.0.2", "10.0.0.3"]);
    expect(readFileSync(join(dir, "10.0.0.3"), "utf8")).toBe("me\r\neth0");
    expect(statSync(join(dir, "10.0.0.3")).nlink).toBe(1);
  });

  it("writes last_reserved_ip by rename, without a newline, and reads it as upstream (no trimming)", () => {
    withLockedStore(dir, (s) => s.setLastReserved(1, ip("fd00::0a")));
    expect(readFileSync(join(dir, "last_reserved_ip.1"), "utf8")).toBe("fd00::a");
    expect(statSync(join(dir, "last_reserved_ip.1")).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.0.0.9\n");
    withLockedStore(dir, (s) => {
      expect(s.lastReserved(0)).toBeUndefined();
      expect(s.lastReserved(1)).toEqual(ip("fd00::a"));
    });
  });

  it("reads owners as upstream matches them, and nothing from empty or garbage files", () => {
    expect(ownerOf("c1\r\neth0")).toEqual({ containerId: "c1", ifname: "eth0" });
    expect(ownerOf(" c1\r\neth0\n")).toEqual({ containerId: "c1", ifname: "eth0" });
    expect(ownerOf("c1")).toEqual({ containerId: "c1", ifname: undefined });
    expect(ownerOf("")).toBeUndefined();
    expect(ownerOf("\n")).toBeUndefined();
    expect(ownerOf("two words")).toBeUndefined();
  });

  it("only IP-named files are reservations; stale temp files are removed under the lock", () => {
    writeFileSync(join(dir, "10.0.0.2"), "a\r\neth0");
    writeFileSync(join(dir, "fd00::2"), "a\r\neth0");
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.0.0.2");
    writeFileSync(join(dir, ".cni-ts-tmp.1.x"), "a\r\neth0");
    withLockedStore(dir, (s) => {
      expect(
        s
          .reservations()
          .map((r) => r.name)
          .sort(),
      ).toEqual(["10.0.0.2", "fd00::2"]);
      expect(s.ownedBy("a", "eth0").exact.length).toBe(2);
    });
    expect(readdirSync(dir)).not.toContain(".cni-ts-tmp.1.x");
  });

  it("refuses store names that leave dataDir", () => {
    expect(storeDir("/var/lib/cni/networks", "cbr0")).toBe("/var/lib/cni/networks/cbr0");
    for (const bad of ["..", ".", "a/b", "../x", ""])
      expect(() => storeDir("/var/lib/cni/networks", bad)).toThrow(/outside dataDir/);
  });
});
