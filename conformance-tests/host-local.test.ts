/**
 * host-local executed directly (env + stdin), ours side by side with Debian's Go host-local 1.1.1:
 * one sequence of operations on two fresh dataDirs must give the same outcomes (exit status,
 * result or error code and message), byte-identical results for 0.3.1, and byte-identical store
 * files. Then the stores are swapped between implementations mid-sequence.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Call, essence, storeFiles, useIpamSandbox } from "./lib/suites/host-local.js";
import type { Impl } from "./lib/paths.js";

const sandbox = useIpamSandbox();

type Step = [verb: string, call: Call, confOverride?: Record<string, unknown>];

function netConf(cniVersion: string, dataDir: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion,
    name: "hl-net",
    type: "bridge",
    ipam: {
      type: "host-local",
      dataDir,
      resolvConf: join(dataDir, "..", "resolv.conf"),
      ranges: [
        [{ subnet: "10.77.0.0/29" }, { subnet: "10.77.1.0/29", rangeStart: "10.77.1.4", rangeEnd: "10.77.1.5" }],
        [{ subnet: "fd77::/124", gateway: "fd77::7" }],
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "fd77:ffff::/48", gw: "fd77::7" }],
      ...extra,
    },
  };
}

/** A sequence covering round robin, wrap across ranges, requested IPs, exhaustion, DEL/CHECK. */
function sequence(checks: boolean): Step[] {
  const steps: Step[] = [];
  for (let i = 1; i <= 4; i++) steps.push(["ADD", { containerId: `ctr${i}` }]);
  steps.push(["DEL", { containerId: "ctr2" }]);
  steps.push(["ADD", { containerId: "ctr5", args: "IgnoreUnknown=1;IP=10.77.1.5" }]);
  steps.push(["ADD", { containerId: "ctr6", args: "IP=10.77.0.1" }]);
  steps.push(["ADD", { containerId: "ctr7", args: "IP=10.77.0.4" }]);
  steps.push(["ADD", { containerId: "ctr15", args: "IP=10.99.0.1" }]);
  steps.push(["ADD", { containerId: "ctr14", args: "IP=fd77::7" }]);
  steps.push(["ADD", { containerId: "ctr16", args: "IP=::ffff:10.77.1.4" }]);
  steps.push(["ADD", { containerId: "ctr17", args: "IP=FD77::00A" }]);
  for (let i = 8; i <= 11; i++) steps.push(["ADD", { containerId: `ctr${i}` }]);
  steps.push(["ADD", { containerId: "ctr12", ifname: "net1" }]);
  if (checks) {
    steps.push(["CHECK", { containerId: "ctr3" }]);
    steps.push(["CHECK", { containerId: "ctr2" }]);
  }
  steps.push(["DEL", { containerId: "ctr3" }]);
  steps.push(["DEL", { containerId: "ctr3" }]);
  steps.push(["DEL", { containerId: "never-added" }]);
  steps.push(["ADD", { containerId: "ctr13" }]);
  return steps;
}

async function play(impls: Impl[] | Impl, dataDir: string, cniVersion: string, steps: Step[]) {
  writeFileSync(
    join(dataDir, "..", "resolv.conf"),
    "# test\nnameserver 10.77.0.53\nnameserver fd77::53\nsearch a.example b.example\noptions ndots:5\ndomain example\n",
  );
  const out = [];
  for (const [i, [verb, call]] of steps.entries()) {
    const impl = Array.isArray(impls) ? impls[i % impls.length]! : impls;
    out.push({
      step: `${verb} ${call.containerId}/${call.ifname ?? "eth0"} ${call.args ?? ""}`,
      ...(await sandbox().run(impl, verb, netConf(cniVersion, dataDir), call)),
    });
  }
  return out;
}

describe("host-local: ours vs the reference, step by step", () => {
  for (const cniVersion of ["0.2.0", "0.3.1", "0.4.0", "1.0.0"]) {
    it(`gives the same outcomes and the same store bytes (cniVersion ${cniVersion})`, async () => {
      const steps = sequence(cniVersion === "0.4.0" || cniVersion === "1.0.0");
      const ref = await play("reference", sandbox().dataDir("ref"), cniVersion, steps);
      const ours = await play("ours", sandbox().dataDir("ours"), cniVersion, steps);
      for (const [i, r] of ref.entries()) {
        const o = ours[i]!;
        expect({ step: r.step, ...(essence(o) as object) }).toEqual({ step: r.step, ...(essence(r) as object) });
        // The exact bytes where Go 1.1.1 and the current format agree: every result before 1.0.0.
        if (cniVersion !== "1.0.0" && r.status === 0 && r.stdout !== "") expect(o.stdout).toBe(r.stdout);
      }
      // The sequence reached every interesting state.
      const msgs = ref.map((r) => r.stdout).join("\n");
      expect(msgs).toContain("no IP addresses available in range set: 10.77.0.1-10.77.0.6,10.77.1.4-10.77.1.5");
      expect(msgs).toContain("requested ip 10.77.0.1 is subnet's gateway");
      expect(msgs).toContain("requested IP address 10.77.0.4 is not available in range set");
      expect(msgs).toContain("failed to allocate all requested IPs: 10.99.0.1");
      expect(msgs).toContain("failed to allocate for range 1: requested ip fd77::7 is subnet's gateway");
      expect(msgs).toContain('"nameservers"');
      expect(msgs).toContain('"10.77.1.4/29"');
      expect(msgs).toContain('"fd77::a/124"');
      expect(storeFiles(join(sandbox().dataDir("ours"), "hl-net"))).toEqual(
        storeFiles(join(sandbox().dataDir("ref"), "hl-net")),
      );
    });
  }

  it("1.0.0 results differ from Go 1.1.1 only by key order and the empty dns (named difference)", async () => {
    const ref = await sandbox().run(
      "reference",
      "ADD",
      netConf("1.0.0", sandbox().dataDir("ref"), { resolvConf: "" }),
      {},
    );
    const ours = await sandbox().run(
      "ours",
      "ADD",
      netConf("1.0.0", sandbox().dataDir("ours"), { resolvConf: "" }),
      {},
    );
    expect(ref.stdout).toContain('"dns": {}');
    expect(ours.stdout).not.toContain('"dns"');
    expect(essence(ours)).toEqual(essence(ref));
  });

  it("a store shared by both implementations, alternating per operation, behaves as one implementation", async () => {
    const steps = sequence(true);
    const ref = await play("reference", sandbox().dataDir("ref"), "0.4.0", steps);
    const mixed = await play(["ours", "reference"], sandbox().dataDir("mixed"), "0.4.0", steps);
    const mixed2 = await play(["reference", "ours", "ours"], sandbox().dataDir("mixed2"), "0.4.0", steps);
    for (const [i, r] of ref.entries()) {
      expect(essence(mixed[i]!)).toEqual(essence(r));
      expect(essence(mixed2[i]!)).toEqual(essence(r));
    }
    const refFiles = storeFiles(join(sandbox().dataDir("ref"), "hl-net"));
    expect(storeFiles(join(sandbox().dataDir("mixed"), "hl-net"))).toEqual(refFiles);
    expect(storeFiles(join(sandbox().dataDir("mixed2"), "hl-net"))).toEqual(refFiles);
  });
});

describe("host-local: requested addresses and runtime ranges, ours vs the reference", () => {
  it("legacy top-level subnet, runtimeConfig.ipRanges, args.cni.ips and runtimeConfig.ips", async () => {
    const make = (dataDir: string, ips: Record<string, unknown>) => ({
      cniVersion: "0.4.0",
      name: "hl-req",
      args: { cni: { ips: ips.args ?? [] } },
      runtimeConfig: { ips: ips.rc ?? [], ipRanges: [[{ subnet: "10.78.9.0/29", gateway: "10.78.9.6" }]] },
      ipam: {
        type: "host-local",
        dataDir,
        subnet: "10.78.0.0/29",
        rangeStart: "10.78.0.3",
        ranges: [[{ subnet: "fd78::/125" }]],
      },
    });
    const cases: Array<[string, Record<string, unknown>]> = [
      ["r1", {}],
      ["r2", { args: ["10.78.0.5"] }],
      ["r3", { rc: ["fd78::6/125", "10.78.9.3/29"] }],
      ["r4", { args: ["10.78.0.4"], rc: ["10.78.0.4"] }],
      ["r5", { rc: ["10.78.0.6", "10.99.0.1"] }],
      ["r6", { rc: ["10.78.9.6"] }],
      ["r7", {}],
    ];
    for (const [cid, ips] of cases) {
      const ref = await sandbox().run("reference", "ADD", make(sandbox().dataDir("ref"), ips), { containerId: cid });
      const ours = await sandbox().run("ours", "ADD", make(sandbox().dataDir("ours"), ips), { containerId: cid });
      expect({ cid, ...(essence(ours) as object) }).toEqual({ cid, ...(essence(ref) as object) });
      if (ref.status === 0) expect(ours.stdout).toBe(ref.stdout);
    }
    expect(storeFiles(join(sandbox().dataDir("ours"), "hl-req"))).toEqual(
      storeFiles(join(sandbox().dataDir("ref"), "hl-req")),
    );
  });
});

describe("host-local: where ours deliberately differs", () => {
  it("a second ADD of the same attachment returns its addresses (Go: duplicate allocation)", async () => {
    const dir = sandbox().dataDir("d");
    const conf = netConf("0.3.1", dir, { resolvConf: "" });
    const first = await sandbox().run("reference", "ADD", conf, { containerId: "dup" });
    const goAgain = await sandbox().run("reference", "ADD", conf, { containerId: "dup" });
    expect(goAgain.stdout).toContain("duplicate allocation is not allowed");
    const before = storeFiles(join(dir, "hl-net"));
    const oursAgain = await sandbox().run("ours", "ADD", conf, { containerId: "dup" });
    expect(oursAgain.stdout).toBe(first.stdout);
    expect(storeFiles(join(dir, "hl-net"))).toEqual(before);
  });

  it("reads legacy container-ID-only reservations like Go: CHECK finds, DEL removes", async () => {
    const dir = sandbox().dataDir("legacy");
    const conf = netConf("0.4.0", dir, { resolvConf: "" });
    await sandbox().run("ours", "ADD", conf, { containerId: "x" });
    writeFileSync(join(dir, "hl-net", "10.77.0.5"), "oldctr");
    for (const impl of ["reference", "ours"] as const) {
      expect((await sandbox().run(impl, "CHECK", conf, { containerId: "oldctr" })).status).toBe(0);
    }
    expect((await sandbox().run("ours", "DEL", conf, { containerId: "oldctr" })).status).toBe(0);
    expect(Object.keys(storeFiles(join(dir, "hl-net")))).not.toContain("10.77.0.5");
    expect((await sandbox().run("reference", "CHECK", conf, { containerId: "oldctr" })).status).toBe(1);
  });

  it("DEL with ranges that no longer validate still releases (Go fails it and keeps the reservation)", async () => {
    const dir = sandbox().dataDir("lenient");
    const good = netConf("0.4.0", dir, { resolvConf: "" });
    await sandbox().run("ours", "ADD", good, { containerId: "keep" });
    const broken = netConf("0.4.0", dir, { resolvConf: "", ranges: [[{ subnet: "10.77.0.1/29" }]] });
    const ref = await sandbox().run("reference", "DEL", broken, { containerId: "keep" });
    expect(ref.status).toBe(1);
    expect(Object.values(storeFiles(join(dir, "hl-net")))).toContain("keep\r\neth0");
    expect((await sandbox().run("ours", "DEL", broken, { containerId: "keep" })).status).toBe(0);
    expect(Object.values(storeFiles(join(dir, "hl-net")))).not.toContain("keep\r\neth0");
  });

  it("DEL on a network that never had a store creates nothing (Go creates the directory and lock)", async () => {
    const conf = netConf("0.4.0", sandbox().dataDir("empty-ref"), { resolvConf: "" });
    expect((await sandbox().run("reference", "DEL", conf, { containerId: "x" })).status).toBe(0);
    expect(Object.keys(storeFiles(join(sandbox().dataDir("empty-ref"), "hl-net")))).toEqual(["lock"]);
    const ours = netConf("0.4.0", sandbox().dataDir("empty-ours"), { resolvConf: "" });
    expect((await sandbox().run("ours", "DEL", ours, { containerId: "x" })).status).toBe(0);
    expect(existsSync(sandbox().dataDir("empty-ours"))).toBe(false);
  });

  it("a full range with an empty reservation file (crashed writer): Go is exhausted, ours reuses the address", async () => {
    const dir = sandbox().dataDir("orphan");
    const conf = {
      cniVersion: "0.4.0",
      name: "hl-orphan",
      ipam: { type: "host-local", dataDir: dir, ranges: [[{ subnet: "10.79.0.0/29" }]] },
    };
    for (let i = 0; i < 5; i++)
      expect((await sandbox().run("reference", "ADD", conf, { containerId: `o${i}` })).status).toBe(0);
    writeFileSync(join(dir, "hl-orphan", "10.79.0.4"), "");
    const go = await sandbox().run("reference", "ADD", conf, { containerId: "late" });
    expect(JSON.parse(go.stdout).msg).toBe(
      "failed to allocate for range 0: no IP addresses available in range set: 10.79.0.1-10.79.0.6",
    );
    const ours = await sandbox().run("ours", "ADD", conf, { containerId: "late" });
    expect(JSON.parse(ours.stdout).ips).toEqual([{ version: "4", address: "10.79.0.4/29", gateway: "10.79.0.1" }]);
    expect((await sandbox().run("reference", "CHECK", conf, { containerId: "late" })).status).toBe(0);
  });

  it("config errors are code 7 naming the field (Go: 999)", async () => {
    const conf = netConf("0.3.1", sandbox().dataDir("bad"));
    (conf.ipam.ranges[0]![0] as Record<string, unknown>).rangeStart = "10.77.5.1";
    const ours = await sandbox().run("ours", "ADD", conf);
    const ref = await sandbox().run("reference", "ADD", conf);
    expect(JSON.parse(ref.stdout)).toMatchObject({
      code: 999,
      msg: "invalid range set 0: RangeStart 10.77.5.1 not in network 10.77.0.0/29",
    });
    expect(JSON.parse(ours.stdout)).toMatchObject({
      code: 7,
      msg: "invalid range set 0: RangeStart 10.77.5.1 not in network 10.77.0.0/29 (ipam.ranges[0][0].rangeStart)",
    });
  });
});
