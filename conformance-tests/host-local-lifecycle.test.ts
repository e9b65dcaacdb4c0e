/**
 * Spec 1.1 verbs (GC, STATUS) that Debian's Go host-local 1.1.1 does not have, run directly with
 * the spec's environment, and crash safety: ours killed at every store write point leaves a
 * store that both implementations keep using, with no empty or half-written reservation.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ipsOf, storeFiles, useIpamSandbox } from "./lib/suites/host-local.js";
import { REPO_ROOT } from "./lib/paths.js";

const sandbox = useIpamSandbox();

const conf = (dataDir: string, cniVersion = "1.1.0", extra: Record<string, unknown> = {}) => ({
  cniVersion,
  name: "life",
  type: "host-local",
  ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.55.0.0/29" }], [{ subnet: "fd55::/125" }]] },
  ...extra,
});

describe("GC and STATUS (cniVersion 1.1.0)", () => {
  it("GC releases every reservation but the valid attachments, including ones Go wrote and empty files", async () => {
    const dir = sandbox().dataDir("gc");
    for (const [i, impl] of (["reference", "ours", "reference", "ours"] as const).entries()) {
      expect((await sandbox().run(impl, "ADD", conf(dir, "1.0.0"), { containerId: `g${i}` })).status).toBe(0);
    }
    writeFileSync(join(dir, "life", "10.55.0.6"), ""); // a crash of an old plugin between create and write
    writeFileSync(join(dir, "life", "fd55::6"), "g3"); // legacy format, kept: g3 is valid
    const valid = [
      { containerID: "g1", ifname: "eth0" },
      { containerID: "g3", ifname: "eth0" },
    ];
    const gc = await sandbox().run("ours", "GC", conf(dir, "1.1.0", { "cni.dev/valid-attachments": valid }));
    expect(gc.status).toBe(0);
    expect(Object.keys(storeFiles(join(dir, "life")))).toEqual([
      "10.55.0.3",
      "10.55.0.5",
      "fd55::3",
      "fd55::5",
      "fd55::6",
      "last_reserved_ip.0",
      "last_reserved_ip.1",
      "lock",
    ]);
    // The older key libcni also sends is honoured; an absent list releases everything.
    await sandbox().run(
      "ours",
      "GC",
      conf(dir, "1.1.0", { "cni.dev/attachments": [{ containerID: "g1", ifname: "eth0" }] }),
    );
    expect(Object.keys(storeFiles(join(dir, "life"))).filter((n) => n.includes(".") || n.includes(":")).length).toBe(4);
    await sandbox().run("ours", "GC", conf(dir, "1.1.0"));
    expect(Object.keys(storeFiles(join(dir, "life")))).toEqual(["last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
  });

  it("GC and STATUS are refused below 1.1.0 like the reference skel", async () => {
    const out = await sandbox().run("ours", "GC", conf(sandbox().dataDir("old"), "1.0.0"));
    expect(out.status).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 1, msg: "config version does not allow GC" });
  });

  it("STATUS is 0 with free addresses, 50 when a range set is exhausted, 0 again after DEL", async () => {
    const dir = sandbox().dataDir("status");
    expect((await sandbox().run("ours", "STATUS", conf(dir))).status).toBe(0);
    for (let i = 0; i < 5; i++)
      ipsOf(await sandbox().run(i % 2 ? "ours" : "reference", "ADD", conf(dir, "1.0.0"), { containerId: `s${i}` }));
    const full = await sandbox().run("ours", "STATUS", conf(dir));
    expect(full.status).toBe(1);
    expect(JSON.parse(full.stdout)).toMatchObject({
      code: 50,
      msg: "failed to allocate for range 0: no IP addresses available in range set: 10.55.0.1-10.55.0.6",
    });
    expect((await sandbox().run("reference", "DEL", conf(dir, "1.0.0"), { containerId: "s2" })).status).toBe(0);
    expect((await sandbox().run("ours", "STATUS", conf(dir))).status).toBe(0);
  });

  it("STATUS is 50 when the store cannot be used", async () => {
    const blocker = sandbox().dataDir("not-a-dir");
    writeFileSync(blocker, "");
    const out = await sandbox().run("ours", "STATUS", conf(blocker));
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 50 });
    expect(JSON.parse(out.stdout).msg).toMatch(/^host-local store .* is not usable/);
  });
});

const TEST_BIN = join(REPO_ROOT, "dist", "test-bin", "host-local");
// Every durable write of a dual-stack ADD: each reservation before and after its link, each last_reserved_ip before its rename.
const FAULT_POINTS = [
  "host-local:reserve:temp-written:10.55.0.3",
  "host-local:reserve:linked:10.55.0.3",
  "host-local:last-reserved:temp-written:0",
  "host-local:reserve:temp-written:fd55::3",
  "host-local:reserve:linked:fd55::3",
  "host-local:last-reserved:temp-written:1",
];

describe("crash safety (test build with fault points)", () => {
  beforeAll(() => {
    execFileSync("node", [join(REPO_ROOT, "scripts", "build.mjs"), "--test-hooks"], { stdio: "ignore" });
  });

  for (const point of FAULT_POINTS) {
    {
      it(`killed at ${point} leaves a store both implementations keep using`, async () => {
        const dir = sandbox().dataDir("crash");
        const c = conf(dir, "1.0.0");
        ipsOf(await sandbox().run("reference", "ADD", c, { containerId: "before" }));
        const env = {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "victim",
          CNI_IFNAME: "eth0",
          CNI_NETNS: sandbox().fakeNetns,
          CNI_PATH: "/nonexistent",
          CNI_TS_FAULT: point,
          CNI_TS_FAULT_LOG: join(sandbox().workDir, "faults.log"),
        };
        const r = spawnSync(TEST_BIN, [], { env, input: JSON.stringify(c) });
        expect(r.signal).toBe("SIGKILL");
        expect(readFileSync(join(sandbox().workDir, "faults.log"), "utf8").trim().split("\n").at(-1)).toBe(point);
        // No reservation is empty or half written.
        const files = storeFiles(join(dir, "life"));
        for (const [name, content] of Object.entries(files)) {
          if (name.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(name))
            expect(content).toMatch(/^(before|victim)\r\neth0$/);
        }
        // Both implementations carry on; the victim's retried ADD and DEL settle its state.
        ipsOf(await sandbox().run("reference", "ADD", c, { containerId: "after-go" }));
        const retried = ipsOf(await sandbox().run("ours", "ADD", c, { containerId: "victim" }));
        expect(retried).toHaveLength(2);
        ipsOf(await sandbox().run("ours", "ADD", c, { containerId: "after-ours" }));
        const all = Object.entries(storeFiles(join(dir, "life"))).filter(([n]) => n.includes(":") || /^\d/.test(n));
        expect(new Set(all.map(([n]) => n)).size).toBe(all.length);
        expect(
          all
            .filter(([, v]) => v === "victim\r\neth0")
            .map(([n]) => n)
            .sort(),
        ).toEqual(retried.map((a) => a.split("/")[0]).sort());
        expect((await sandbox().run("reference", "DEL", c, { containerId: "victim" })).status).toBe(0);
        expect(Object.values(storeFiles(join(dir, "life")))).not.toContain("victim\r\neth0");
        expect(Object.keys(storeFiles(join(dir, "life"))).filter((n) => n.startsWith("."))).toEqual([]);
      });
    }
  }
});
