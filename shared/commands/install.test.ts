import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXECUTABLE_MARKER } from "../build-info.js";
import { PLUGIN_NAMES } from "../plugins.js";
import { InstallError, type InstallOptions, OWN_COPY, install, parseInstallArgs } from "./install.js";

let root: string;
let bin: string;
let lines: string[];
const log = (line: string) => lines.push(line);

function write(file: string, text: string): string {
  writeFileSync(file, text, { mode: 0o755 });
  return file;
}
const ino = (f: string) => statSync(f).ino;
const options = (args: string[]): InstallOptions => {
  const o = parseInstallArgs(args);
  if (o === "help") throw new Error("help");
  return o;
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "cni-ts-install-"));
  bin = join(root, "bin");
  lines = [];
  write(join(root, "build-1"), `ELF…${EXECUTABLE_MARKER}…build one\n`);
  write(join(root, "build-2"), `ELF…${EXECUTABLE_MARKER}…build two, longer\n`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const ours = (build = "build-1", extra: string[] = []) =>
  options(["--bin-dir", bin, "--source", join(root, build), ...extra]);

describe("cni-ts install", () => {
  it("lays out cni-ts, a hard link per plugin and its own copy for flannel, and a second run changes nothing", () => {
    expect(install(ours(), log)).toEqual({ changed: 1 + PLUGIN_NAMES.length, unchanged: 0 });
    const multi = ino(join(bin, "cni-ts"));
    for (const name of PLUGIN_NAMES) {
      expect(readFileSync(join(bin, name), "utf8")).toContain("build one");
      expect(ino(join(bin, name)) === multi).toBe(!OWN_COPY.has(name));
    }
    expect(statSync(join(bin, "flannel")).mtimeMs).toBe(statSync(join(bin, "cni-ts")).mtimeMs);
    expect(statSync(join(bin, "flannel")).mode & 0o777).toBe(0o755);
    lines = [];
    expect(install(ours(), log)).toEqual({ changed: 0, unchanged: 1 + PLUGIN_NAMES.length });
    expect(lines).toEqual([]);
  });

  it("survives cp -f over flannel: every other name is still ours", () => {
    install(ours(), log);
    const other = write(join(root, "go-flannel"), "#!/bin/sh\necho upstream flannel\n");
    execFileSync("cp", ["-f", other, join(bin, "flannel")]);
    expect(readFileSync(join(bin, "flannel"), "utf8")).toContain("upstream flannel");
    for (const name of PLUGIN_NAMES.filter((n) => n !== "flannel"))
      expect(readFileSync(join(bin, name), "utf8")).toContain("build one");
    // The next run refuses the foreign flannel unless told, and then restores it.
    expect(() => install(ours(), log)).toThrow(/flannel: not cni-ts executables.*--replace/s);
    lines = [];
    expect(install(ours("build-1", ["--replace"]), log).changed).toBe(1);
    expect(lines).toEqual([
      `${join(bin, "flannel")}: its own copy of cni-ts, so a cp -f over it reaches no other plugin (replaced a file that was not cni-ts)`,
    ]);
  });

  it("upgrades every name that is ours, also names not asked for, and leaves other plugins alone", () => {
    install(ours(), log);
    const foreign = write(join(bin, "tuning"), "upstream tuning\n");
    install(ours("build-2", ["--plugins", "bridge"]), log);
    for (const name of PLUGIN_NAMES) expect(readFileSync(join(bin, name), "utf8")).toContain("build two");
    expect(readFileSync(foreign, "utf8")).toBe("upstream tuning\n");
  });

  it("refuses to overwrite upstream's plugins without --replace and changes nothing", () => {
    install(ours("build-1", ["--plugins", "loopback"]), log);
    write(join(bin, "bridge"), "upstream bridge\n");
    const before = readFileSync(join(bin, "bridge"), "utf8");
    expect(() => install(ours("build-2"), log)).toThrow(InstallError);
    expect(readFileSync(join(bin, "bridge"), "utf8")).toBe(before);
    expect(readFileSync(join(bin, "cni-ts"), "utf8")).toContain("build one");
  });

  it("rolls back with --from: each name becomes its own copy of the other implementation, cni-ts goes", () => {
    install(ours(), log);
    const go = join(root, "go");
    execFileSync("mkdir", [go]);
    for (const name of ["bridge", "host-local", "loopback", "portmap", "bandwidth"])
      write(join(go, name), `upstream ${name}\n`);
    lines = [];
    install(options(["--bin-dir", bin, "--from", go]), log);
    for (const name of ["bridge", "host-local", "loopback", "portmap", "bandwidth"])
      expect(readFileSync(join(bin, name), "utf8")).toBe(`upstream ${name}\n`);
    // flannel (its own copy) is still ours: cni-ts stays only while a name links to it.
    expect(readFileSync(join(bin, "flannel"), "utf8")).toContain("build one");
    expect(existsSync(join(bin, "cni-ts"))).toBe(false);
    expect(lines.at(-1)).toMatch(/cni-ts: removed/);
    // and forward again: upstream's files need --replace
    expect(() => install(ours(), log)).toThrow(/--replace/);
    install(ours("build-1", ["--replace"]), log);
    expect(readFileSync(join(bin, "bridge"), "utf8")).toContain("build one");
  });

  it("installs a config list by rename, validated", () => {
    const conf = join(root, "net.d");
    const list = write(
      join(root, "10-flannel.conflist"),
      JSON.stringify({ name: "cbr0", cniVersion: "1.1.0", plugins: [{ type: "flannel" }] }),
    );
    install(ours("build-1", ["--conf-dir", conf, "--conflist", list]), log);
    expect(readFileSync(join(conf, "10-flannel.conflist"), "utf8")).toBe(readFileSync(list, "utf8"));
    expect(lines.at(-1)).toMatch(/config list "cbr0" \(cniVersion 1.1.0\)/);
    const bad = write(join(root, "bad.conflist"), JSON.stringify({ name: "x" }));
    expect(() => install(ours("build-1", ["--conf-dir", conf, "--conflist", bad]), log)).toThrow(/not a config list/);
  });

  it("rejects unknown plugin names, half a conflist pair and a source that is not cni-ts", () => {
    expect(() => parseInstallArgs(["--plugins", "bridge,calico"])).toThrow(/calico/);
    expect(() => parseInstallArgs(["--conf-dir", "/x"])).toThrow(/go together/);
    expect(() => parseInstallArgs(["--bogus"])).toThrow(/bogus/);
    const notOurs = write(join(root, "not-ours"), "nope");
    expect(() => install(options(["--bin-dir", bin, "--source", notOurs]), log)).toThrow(/not a cni-ts executable/);
  });
});
