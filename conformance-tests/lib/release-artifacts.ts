import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLUGIN_NAMES } from "../../shared/plugins.js";
import { REPO_ROOT, TOOL_PATH } from "./paths.js";
import { runCommand } from "./run-command.js";

/** What `npm run release` wrote (dist/release), for the tests of the release artifacts. */
export const RELEASE_DIR = join(REPO_ROOT, "dist", "release");
export const RELEASE_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;
export type ReleaseArch = "amd64" | "arm64";

export const tarballOf = (arch: ReleaseArch) => join(RELEASE_DIR, `cni-ts-${RELEASE_VERSION}-linux-${arch}.tar.gz`);
export const IMAGE_ARCHIVE = join(RELEASE_DIR, `cni-ts-${RELEASE_VERSION}.oci.tar`);
export const IMAGE_REFERENCE = `localhost/cni-ts:${RELEASE_VERSION}`;

/** Fails with what to do when the release has not been built (never a silent skip). */
export function requireRelease(files: readonly string[]): void {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`${missing.join(", ")} missing: run \`npm run release\` first`);
}

/** A temp dir for one test's extracted artifacts; `remove` deletes exactly it. */
export function scratchDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Unpacks one architecture's tarball into `into`; returns the directory with cni-ts and the plugin names. */
export async function extractTarball(arch: ReleaseArch, into: string): Promise<string> {
  await runCommand(["tar", "-xzf", tarballOf(arch), "-C", into], { env: { PATH: TOOL_PATH }, timeoutMs: 120_000 });
  return join(into, `cni-ts-${RELEASE_VERSION}-linux-${arch}`);
}

/** The ELF machine of an executable: 62 x86-64, 183 aarch64. */
export function elfMachine(file: string): number {
  const header = readFileSync(file).subarray(0, 20);
  if (header.toString("latin1", 1, 4) !== "ELF") throw new Error(`${file} is not an ELF executable`);
  return header.readUInt16LE(18);
}

/**
 * A CNI_PATH directory for running the release executables under qemu-user. The names the runtime
 * starts (`entryPoints`) are scripts running `qemu -0 NAME EXECUTABLE`, so the multi-call
 * executable sees the plugin name; every other name is a symlink to the executable, which our
 * flannel and bridge recognise as themselves and run in-process (an exec of one would fail here:
 * it is not this machine's architecture, or not its CPU model). The tools the plugins start (ip,
 * iptables, nsenter) are the host's and run natively.
 */
export function writeQemuWrappers(
  dir: string,
  qemu: readonly string[],
  releaseDir: string,
  entryPoints: readonly string[],
): void {
  for (const name of PLUGIN_NAMES) {
    const file = join(dir, name);
    if (!entryPoints.includes(name)) {
      symlinkSync(join(releaseDir, name), file);
      continue;
    }
    const argv = [...qemu, "-0", name, join(releaseDir, name)].map((a) => `'${a}'`).join(" ");
    writeFileSync(file, `#!/bin/sh\nexec ${argv} "$@"\n`);
    chmodSync(file, 0o755);
  }
}
