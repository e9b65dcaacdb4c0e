/*
 * A runtime runs plugins with its own environment and working directory. What Node or Bun would
 * pick up from either must not change what the plugin does.
 */
import { PLUGIN_NAMES } from "../shared/plugins.js";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OURS_BIN, requireOursBuilt } from "./lib/paths.js";

describe("the executables ignore what a runtime's environment and working directory carry", () => {
  const dir = mkdtempSync(join(tmpdir(), "cts-env-"));
  const leaked = join(dir, "leaked.log");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(plugin: string, env: Record<string, string>, stdin: string) {
    requireOursBuilt([plugin]);
    return spawnSync(join(OURS_BIN, plugin), [], {
      cwd: dir,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
      input: stdin,
    });
  }

  it("NODE_OPTIONS, NODE_EXTRA_CA_CERTS, a .env file and a bunfig.toml preload have no effect", () => {
    writeFileSync(join(dir, ".env"), `CNI_TS_DEBUG_LOG=${leaked}\n`);
    writeFileSync(
      join(dir, "preload.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(leaked)}, "preloaded");\n`,
    );
    writeFileSync(join(dir, "bunfig.toml"), `preload = ["./preload.ts"]\n`);
    const hostile = { NODE_OPTIONS: "--require /nonexistent.js", NODE_EXTRA_CA_CERTS: "/nonexistent.pem" };
    for (const plugin of PLUGIN_NAMES) {
      const version = run(plugin, { ...hostile, CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.0.0"}');
      expect(version.status, `${plugin} VERSION: ${version.stderr}`).toBe(0);
      expect(JSON.parse(version.stdout.toString()).supportedVersions).toContain("1.1.0");
      // A verb past VERSION loads the plugin: a missing variable must still be the plain code-4 error.
      const add = run(plugin, { ...hostile, CNI_COMMAND: "ADD" }, '{"cniVersion":"1.0.0","name":"n","type":"x"}');
      expect(add.status).toBe(1);
      expect(JSON.parse(add.stdout.toString()).code).toBe(4);
    }
    expect(existsSync(leaked)).toBe(false);
  });
});
