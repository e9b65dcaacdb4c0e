/**
 * The release executables themselves (unpacked from dist/release's tarballs, not dist/bin) run
 * the kube-flannel chain — ADD, CHECK, DEL through libcni — on a sandboxed node under qemu-user:
 * amd64 on a Nehalem CPU model (the minimum the README states: Bun's baseline runtime; Penryn,
 * without SSE4.2, must fail, which also proves the CPU model is in effect), arm64 under
 * qemu-aarch64-static with Debian's libc6:arm64.
 */
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLUGIN_NAMES } from "../shared/plugins.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { kubeFlannelAddCheckDel, writeKubeFlannelConflist } from "./lib/cluster/kube-flannel-node.js";
import { TOOL_PATH } from "./lib/paths.js";
import {
  type ReleaseArch,
  elfMachine,
  extractTarball,
  requireRelease,
  scratchDir,
  tarballOf,
  writeQemuWrappers,
} from "./lib/release-artifacts.js";
import { runCommand } from "./lib/run-command.js";
import { useSandbox } from "./lib/use-sandbox.js";

const ARCHES: { arch: ReleaseArch; qemu: string[]; machine: number; target: string }[] = [
  {
    arch: "amd64",
    qemu: ["/usr/bin/qemu-x86_64-static", "-cpu", "Nehalem"],
    machine: 62,
    target: "bun-linux-x64-baseline",
  },
  { arch: "arm64", qemu: ["/usr/bin/qemu-aarch64-static"], machine: 183, target: "bun-linux-arm64" },
];

const scratch = scratchDir("cts-release-qemu-");
const unpacked = new Map<ReleaseArch, string>();
beforeAll(async () => {
  requireRelease(ARCHES.map((a) => tarballOf(a.arch)));
  await ensureCnitool();
  for (const { arch } of ARCHES) {
    mkdirSync(join(scratch.dir, arch));
    unpacked.set(arch, await extractTarball(arch, join(scratch.dir, arch)));
  }
}, 300_000);
afterAll(() => scratch.remove());

describe("release executables under qemu-user", () => {
  const sandbox = useSandbox();

  for (const { arch, qemu, machine, target } of ARCHES) {
    it(`${arch}: --version and the kube-flannel chain (ADD, CHECK, DEL) under ${qemu.map((a) => a.split("/").pop()).join(" ")}`, async () => {
      const release = unpacked.get(arch)!;
      expect(elfMachine(join(release, "cni-ts"))).toBe(machine);
      const version = await runCommand([...qemu, join(release, "cni-ts"), "--version"], { env: { PATH: TOOL_PATH } });
      expect(version.stdout).toMatch(new RegExp(`^cni-ts v\\d+\\.\\d+\\.\\d+\\S* \\(commit \\S+, ${target}\\)\\n$`));

      const wrappers = join(scratch.dir, arch, "cni-path");
      mkdirSync(wrappers);
      writeQemuWrappers(wrappers, qemu, release, ["flannel", "portmap"]);
      const node = await sandbox.node({ cniPath: [wrappers] });
      writeKubeFlannelConflist(node);
      await kubeFlannelAddCheckDel(node, await node.addPod("q"));
    });
  }

  it("the amd64 tarball holds the executable, the plugin names, install, README.md and LICENSE; its install lays out a bin dir", async () => {
    const release = unpacked.get("amd64")!;
    expect(readdirSync(release).sort()).toEqual(["LICENSE", "README.md", "cni-ts", "install", ...PLUGIN_NAMES].sort());
    for (const name of PLUGIN_NAMES)
      expect(statSync(join(release, name)).ino).toBe(statSync(join(release, "cni-ts")).ino);
    const bin = join(scratch.dir, "installed");
    const r = await runCommand([join(release, "install"), "--bin-dir", bin], { env: { PATH: TOOL_PATH } });
    expect(r.stdout).toContain(`${bin}: ${1 + PLUGIN_NAMES.length} changed, 0 unchanged`);
    expect(readdirSync(bin).sort()).toEqual(["cni-ts", ...PLUGIN_NAMES].sort());
  });

  it("amd64 needs SSE4.2: the same executable dies on a Penryn CPU model", async () => {
    const r = await runCommand(
      ["/usr/bin/qemu-x86_64-static", "-cpu", "Penryn", join(unpacked.get("amd64")!, "cni-ts"), "--version"],
      {
        env: { PATH: TOOL_PATH },
        check: false,
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Illegal instruction/);
  });
});
