import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { attachmentOf, SavedConfigStore, savedName } from "./saved-config-store.js";

let dir: string;
let store: SavedConfigStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "flannel-store-"));
  store = new SavedConfigStore(join(dir, "data"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("names", () => {
  it("eth0 keeps upstream's <containerID>; other interfaces get <containerID>@<ifname>", () => {
    expect(savedName("abc", "eth0")).toBe("abc");
    expect(savedName("abc", "net1")).toBe("abc@net1");
    expect(attachmentOf("abc")).toEqual({ containerId: "abc" });
    expect(attachmentOf("abc@net@1")).toEqual({ containerId: "abc", ifname: "net@1" });
    expect(attachmentOf(".abc.1.0011aabb.tmp")).toBeUndefined();
  });
});

describe("save", () => {
  it("replaces the file whole and leaves no temp file", () => {
    store.save("abc", "eth0", Buffer.from("first"));
    store.save("abc", "eth0", Buffer.from("second"));
    expect(readFileSync(join(store.dataDir, "abc"), "utf8")).toBe("second");
    expect(readdirSync(store.dataDir)).toEqual(["abc"]);
  });

  it("clears the temp files a killed save of the same attachment left, and only those", () => {
    mkdirSync(store.dataDir);
    const left = [".abc.123.0011aabb.tmp", ".abc@net1.9.00000000.tmp"];
    const others = [
      ".abc.d.123.0011aabb.tmp",
      ".abc.weird.tmp",
      ".abcd.5.0011aabb.tmp",
      ".abc@net1.123.9.0011aabb.tmp",
    ];
    for (const n of [...left, ...others]) writeFileSync(join(store.dataDir, n), "");
    store.save("abc", "eth0", Buffer.from("x"));
    store.removeTemps("abc", "net1");
    expect(readdirSync(store.dataDir).sort()).toEqual(["abc", ...others].sort());
  });
});

describe("read and load", () => {
  it("tells a usable config from a corrupt one and a missing one", () => {
    mkdirSync(store.dataDir);
    writeFileSync(join(store.dataDir, "ok"), '{"type":"bridge","name":"n"}');
    writeFileSync(join(store.dataDir, "empty"), "");
    writeFileSync(join(store.dataDir, "notype"), '{"name":"n"}');
    expect(store.read(join(store.dataDir, "ok"))?.config).toEqual({ type: "bridge", name: "n" });
    const empty = store.read(join(store.dataDir, "empty"));
    expect(empty?.bytes.length).toBe(0);
    expect(empty?.config).toBeUndefined();
    expect(store.read(join(store.dataDir, "notype"))?.config).toBeUndefined();
    expect(store.read(join(store.dataDir, "absent"))).toBeUndefined();
  });

  it("lists saved files only, and an absent dataDir as empty", () => {
    expect(store.list()).toEqual([]);
    store.save("abc", "net1", Buffer.from("{}"));
    writeFileSync(join(store.dataDir, ".abc.1.00000000.tmp"), "");
    expect(store.list().map((e) => e.name)).toEqual(["abc@net1"]);
  });

  it("removes stale temp files only when old", () => {
    mkdirSync(store.dataDir);
    writeFileSync(join(store.dataDir, ".old.1.00000000.tmp"), "");
    writeFileSync(join(store.dataDir, ".new.1.00000000.tmp"), "");
    utimesSync(join(store.dataDir, ".old.1.00000000.tmp"), new Date(0), new Date(0));
    expect(store.removeStaleTemps(60_000)).toEqual([join(store.dataDir, ".old.1.00000000.tmp")]);
    expect(existsSync(join(store.dataDir, ".new.1.00000000.tmp"))).toBe(true);
  });
});
