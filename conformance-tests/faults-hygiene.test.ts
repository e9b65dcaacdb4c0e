/**
 * Privilege hygiene: no shell anywhere in plugin code, state files and directories with
 * upstream's modes (0600 files, 0700 flannel dir, nothing world-writable), and the debugging
 * switch never writes the environment.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { podCapArgs, setupChain } from "../scripts/soak-lib/chains.js";
import { hygieneProblems, listState } from "../scripts/soak-lib/files.js";
import { BUN } from "../scripts/soak-lib/fuzz-session.js";
import { scanForShell, scanTextForShell } from "../scripts/soak-lib/shell-scan.js";
import { REPO_ROOT, requireOursBuilt } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";

const sandbox = useSandbox();

describe("no shell", () => {
  it("the detector finds every way of starting a shell (so a clean scan means something)", () => {
    const samples = [
      'spawnSync("ip", args, { shell: true })',
      'run(["sh", "-c", cmd])',
      'run(["/bin/bash", "-ec", cmd])',
      "execSync(`ip link`)",
      'import { exec } from "node:child_process";',
      'import { $ } from "bun";',
    ];
    for (const s of samples) expect(scanTextForShell("x.ts", s), s).toHaveLength(1);
    expect(
      scanTextForShell("x.ts", 'spawnSync("ip", ["-batch", "-"], { stdio: "pipe" }) // no shell: true here'),
    ).toEqual([]);
  });

  it("plugin and core code never start a shell (argument arrays only)", () => {
    const uses = scanForShell(REPO_ROOT, ["shared", "plugins", "ipam"]);
    expect(uses.map((u) => `${u.file}:${u.line} ${u.what}: ${u.text}`)).toEqual([]);
  });
});

describe("the fuzz runner's shield over the host's CNI directories", () => {
  // The shield's mechanism, on directories of the test's own (the host's CNI directories may or may
  // not exist on a given machine): an existing directory gets a private tmpfs, so a write inside
  // the sandbox is seen but never reaches the host; a missing one is reported when created.
  it("catches a write into a shielded directory and keeps it off the host; reports a created one", async () => {
    const node = await sandbox.node();
    const marker = `shield-${node.token}`;
    const existing = join(node.workDir, "shielded");
    const missing = join(node.workDir, "must-not-exist");
    mkdirSync(existing);
    const script = join(REPO_ROOT, "scripts/soak-lib/host-shield.ts");
    const r = await node.exec([BUN, script, marker, existing, missing], { env: { HOME: node.workDir } });
    const out = JSON.parse(r.stdout) as { shielded: string[]; before: string[]; after: string[] };
    expect(out.shielded).toEqual([existing]);
    expect(out.before).toEqual([]);
    expect(out.after).toEqual([`${existing}/{${marker}}`, `${missing} (created)`]);
    expect(readdirSync(existing)).toEqual([]);
  });
});

describe("state files and the debug log", () => {
  beforeAll(async () => {
    requireOursBuilt();
    await ensureCnitool();
  }, 300_000);

  it("after ADDs through the flannel chain: upstream's modes, nothing world-writable, no environment in the debug log", async () => {
    const node = await sandbox.node();
    const chain = setupChain(node, "flannel");
    const debugLog = join(node.workDir, "debug.log");
    const secret = `s3cr3t-${node.token}-value`;
    const env = { CNI_TS_DEBUG_LOG: debugLog, MY_API_TOKEN: secret, AWS_SECRET_ACCESS_KEY: secret };
    const pods = [await node.addPod("a"), await node.addPod("b")];
    for (const [i, pod] of pods.entries()) {
      const o = await node.cnitool("add", chain.network, pod, { capArgs: podCapArgs(33000 + i), env });
      expectOk(o, "ADD");
      expect(o.stdout + o.stderr).not.toContain(secret);
    }

    const state = listState(node.dataDir);
    expect(hygieneProblems(state)).toEqual([]);
    const store = join(chain.ipamDataDir, chain.network);
    const reservations = state.filter((f) => !f.isDir && f.path.startsWith(`${store}/`) && basename(f.path) !== "lock");
    expect(reservations.length).toBeGreaterThanOrEqual(3); // two addresses + last_reserved_ip.0
    for (const f of reservations) expect(f.mode.toString(8), f.path).toBe("600");
    expect(statSync(chain.flannelDataDir!).mode & 0o777).toBe(0o700);
    const saved = state.filter((f) => !f.isDir && f.path.startsWith(`${chain.flannelDataDir}/`));
    expect(saved).toHaveLength(2);
    for (const f of saved) expect(f.mode.toString(8), f.path).toBe("600");

    // The switch's stderr form, on a direct call (what a runtime logs from a plugin).
    const direct = await node.invoke(
      "loopback",
      "ADD",
      { cniVersion: "1.0.0", name: "lo", type: "loopback" },
      pods[0],
      { env: { CNI_TS_DEBUG_LOG: "stderr", MY_API_TOKEN: secret } },
    );
    expectOk(direct, "loopback ADD");
    expect(direct.stderr.length).toBeGreaterThan(0);
    expect(direct.stdout + direct.stderr).not.toContain(secret);

    const log = readFileSync(debugLog, "utf8");
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(secret);
    expect(log).not.toMatch(/"PATH"|"HOME"|MY_API_TOKEN|AWS_SECRET/);
    for (const pod of pods)
      expectOk(
        await node.cnitool("del", chain.network, pod, { capArgs: podCapArgs(33000 + pods.indexOf(pod)), env }),
        "DEL",
      );
    expect(readFileSync(debugLog, "utf8")).not.toContain(secret);
  });
});
