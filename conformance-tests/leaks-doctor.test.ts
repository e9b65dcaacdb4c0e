/**
 * `cni-ts doctor` on sandboxed kube-flannel nodes: a healthy node reports no error and no warning
 * (exit 0); each broken state the issue lists is reported with its severity and fix, and the
 * errors make doctor exit 1. Run inside the node's namespace with the node's path flags.
 */
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OURS_BIN } from "./lib/paths.js";
import {
  type FlannelNode,
  NETWORK,
  TEN_MINUTES,
  addFlannelPod,
  backdate,
  crashPod,
  flannelNode,
  leakSuite,
  nodeCommand,
  pathFlags,
} from "./lib/suites/leaks.js";

const sandbox = leakSuite();

interface Finding {
  area: string;
  severity: "info" | "warning" | "error";
  message: string;
  fix?: string;
}

async function doctor(
  f: FlannelNode,
  flags = pathFlags(f),
): Promise<{ status: number; findings: Finding[]; text: string }> {
  const r = await nodeCommand(f, ["doctor", "--json", ...flags]);
  const parsed = JSON.parse(r.stdout) as { findings: Finding[]; errors: number; warnings: number };
  expect(parsed.errors).toBe(parsed.findings.filter((x) => x.severity === "error").length);
  return { status: r.status, findings: parsed.findings, text: r.stdout };
}

const problems = (fs: Finding[]) => fs.filter((x) => x.severity !== "info");

/** A node as flanneld leaves it: flannel.1 present; and a pod with a hostPort running. */
async function healthyNode(subnetEnvExtra?: string) {
  const f = flannelNode(await sandbox.node({ impl: "ours" }));
  if (subnetEnvExtra)
    writeFileSync(f.subnetEnv, readFileSync(f.subnetEnv, "utf8").replace("FLANNEL_IPMASQ=true", subnetEnvExtra));
  await f.node.exec(["ip", "link", "add", "flannel.1", "type", "vxlan", "id", "1", "dstport", "8472"]);
  const pod = await addFlannelPod(f, "a", 18200);
  return { f, pod };
}

describe("cni-ts doctor", () => {
  it("on a healthy kube-flannel node reports no error and no warning, and exits 0", async () => {
    const { f } = await healthyNode();
    const r = await doctor(f);
    expect(problems(r.findings), r.text).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.findings.map((x) => x.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ours in .*: .* \(cni-ts \d+\.\d+\.\d+\S* \(commit [^)]+\)\)$/),
        expect.stringMatching(/network cbr0, cniVersion 0\.3\.1, plugins flannel -> portmap; GC and STATUS off/),
        expect.stringMatching(/^network cbr0: 1 reservations in .*, 1 in use, 0 recent, 0 leaked/),
      ]),
    );
    const ours = r.findings.find((x) => x.message.startsWith("ours in "))!.message;
    for (const name of ["bridge", "cni-ts", "flannel", "host-local", "loopback", "portmap"])
      expect(ours).toMatch(new RegExp(`[:,] ${name}[, ]`));
    const text = await nodeCommand(f, ["doctor", ...pathFlags(f)]);
    expect(text.stdout).toMatch(/healthy: no errors, no warnings\n$/);
  });

  it("finds a broken plugin directory: a missing plugin, a foreign name on our executable, one of our names on a foreign file, other executables", async () => {
    const { f } = await healthyNode();
    const bin = f.node.binDir;
    for (const name of ["cni-ts", "flannel", "bridge", "host-local", "dhcp"])
      linkSync(join(OURS_BIN, "cni-ts"), join(bin, name));
    writeFileSync(join(bin, "tuning"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    linkSync(join(bin, "tuning"), join(bin, "loopback"));
    const r = await doctor(f, ["--conf-dir", f.node.confDir, "--bin-dir", bin, "--cache-dir", f.node.cacheDir]);
    expect(r.status).toBe(1);
    expect(problems(r.findings).filter((x) => x.area === "plugins")).toEqual([
      expect.objectContaining({
        severity: "error",
        message: expect.stringMatching(/dhcp is our executable .* but "dhcp" is no plugin of ours/),
      }),
      expect.objectContaining({
        severity: "warning",
        message: `${join(bin, "loopback")} is not ours and is the same file (inode) as tuning: a runtime running "loopback" runs that file`,
      }),
      expect.objectContaining({
        severity: "error",
        message: expect.stringMatching(/network cbr0 .* needs plugin "portmap", which is missing/),
        fix: expect.stringContaining("scripts/install.sh"),
      }),
    ]);
    expect(r.findings).toContainEqual(
      expect.objectContaining({ severity: "info", message: `other executables in ${bin}: loopback, tuning` }),
    );
  });

  it("finds a configuration it cannot use", async () => {
    const { f } = await healthyNode();
    writeFileSync(join(f.node.confDir, "20-broken.conflist"), "{ not json");
    const r = await doctor(f);
    expect(r.status).toBe(1);
    expect(problems(r.findings)).toEqual([
      expect.objectContaining({
        area: "config",
        severity: "error",
        message: expect.stringContaining("20-broken.conflist cannot be used: not JSON"),
      }),
    ]);
  });

  it("finds flannel's problems: the bridge's address and MTU against subnet.env, flannel.1 missing, subnet.env malformed", async () => {
    const { f } = await healthyNode();
    const [a, b] = f.subnet.split(".");
    writeFileSync(
      f.subnetEnv,
      readFileSync(f.subnetEnv, "utf8").replace(/FLANNEL_SUBNET=.*/, `FLANNEL_SUBNET=${a}.${b}.250.1/24`),
    );
    await f.node.exec(["ip", "link", "set", f.bridge, "mtu", "1400"]);
    await f.node.exec(["ip", "link", "del", "flannel.1"]);
    const r = await doctor(f);
    expect(r.status).toBe(1);
    expect(problems(r.findings).map((x) => [x.area, x.severity, x.message.split(":")[0]])).toEqual([
      [
        "flannel",
        "error",
        `${f.bridge} has ${f.subnet.replace(/\.0\/24$/, ".1/24")} but subnet.env's FLANNEL_SUBNET ${a}.${b}.250.0/24 makes it ${a}.${b}.250.1/24`,
      ],
      ["flannel", "warning", `${f.bridge} has MTU 1400, subnet.env says 1450`],
      ["flannel", "warning", "flannel.1 is missing"],
    ]);
    writeFileSync(f.subnetEnv, readFileSync(f.subnetEnv, "utf8").replace(/FLANNEL_MTU=.*/, "FLANNEL_MTU=big"));
    const malformed = await doctor(f);
    expect(problems(malformed.findings)).toContainEqual(
      expect.objectContaining({
        area: "flannel",
        severity: "error",
        message: expect.stringContaining("failed to load flannel 'subnet.env' file"),
      }),
    );
  });

  it("finds leaked and stale state, which cni-ts gc --apply then clears", async () => {
    const { f, pod: live } = await healthyNode("FLANNEL_IPMASQ=false");
    const dead = await addFlannelPod(f, "b", 18201);
    const halfGone = await addFlannelPod(f, "c", 18202);
    const noConfig = await addFlannelPod(f, "d");
    await crashPod(f, dead.pod);
    await crashPod(f, halfGone.pod);
    // c: a cleanup that released the reservation and stopped: saved config, cache and rules remain.
    unlinkSync(join(f.storeDir, halfGone.address));
    // d: a live pod whose saved flannel config was deleted by hand.
    unlinkSync(join(f.flannelDir, noConfig.pod.containerId));
    // e: only its rules remain (reservation, saved config and cache gone): masquerade and hostPort.
    const rulesOnly = await addFlannelPod(f, "e", 18203);
    await crashPod(f, rulesOnly.pod);
    unlinkSync(join(f.storeDir, rulesOnly.address));
    rmSync(join(f.flannelDir, rulesOnly.pod.containerId));
    rmSync(join(f.resultsDir, `${NETWORK}-${rulesOnly.pod.containerId}-eth0`));
    backdate(f.node.dataDir, TEN_MINUTES);
    backdate(f.node.cacheDir, TEN_MINUTES);

    const r = await doctor(f);
    expect(r.status, r.text).toBe(0); // state problems are warnings
    const msgs = problems(r.findings).map((x) => `${x.severity} ${x.message}`);
    const cid = (p: { pod: { containerId: string } }) => p.pod.containerId;
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(
            `^warning leaked reservation ${dead.address.replace(/\./g, "\\.")} in network cbr0 \\(${cid(dead)}/eth0\\): in no network namespace`,
          ),
        ),
        `warning saved flannel config ${join(f.flannelDir, cid(halfGone))} has no reservation (${cid(halfGone)}/eth0, network cbr0)`,
        `warning cached result ${join(f.resultsDir, `${NETWORK}-${cid(halfGone)}-eth0`)} has no reservation (${cid(halfGone)}/eth0, network cbr0)`,
        expect.stringMatching(
          new RegExp(
            `^warning reservation ${noConfig.address.replace(/\./g, "\\.")} \\(${cid(noConfig)}\\) in network cbr0 has no saved flannel config`,
          ),
        ),
        `warning masquerade rules of network cbr0 name container ${cid(rulesOnly)}, which holds no reservation on this node`,
        `warning CNI-HOSTPORT rules of network cbr0 name container ${cid(rulesOnly)}, which holds no reservation on this node`,
      ]),
    );
    expect(msgs.join("\n")).not.toContain(cid(live));
    for (const x of problems(r.findings))
      if (x.message.includes(cid(dead))) expect(x.fix).toMatch(/^cni-ts gc --apply --network cbr0 --conf-dir /);

    const gc = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(gc.status, gc.stdout + gc.stderr).toBe(0);
    const after = await doctor(f);
    expect(problems(after.findings).map((x) => x.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^reservation ${noConfig.address.replace(/\./g, "\\.")} .* has no saved flannel config`),
      ),
    ]);
    const nat = (await f.node.exec(["iptables-save", "-t", "nat"])).stdout;
    for (const p of [dead, halfGone, rulesOnly]) expect(nat).not.toContain(cid(p));
    expect(nat).toContain(cid(live));
  });

  it("with the nftables backends: masquerade and hostPort rules of a container that holds nothing are found, and gc removes them", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }), { nftables: true });
    writeFileSync(
      f.subnetEnv,
      readFileSync(f.subnetEnv, "utf8").replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false"),
    );
    await f.node.exec(["ip", "link", "add", "flannel.1", "type", "vxlan", "id", "1", "dstport", "8472"]);
    const live = await addFlannelPod(f, "a", 18210);
    const gone = await addFlannelPod(f, "b", 18211);
    await crashPod(f, gone.pod);
    unlinkSync(join(f.storeDir, gone.address));
    rmSync(join(f.flannelDir, gone.pod.containerId));
    rmSync(join(f.resultsDir, `${NETWORK}-${gone.pod.containerId}-eth0`));
    const ruleset = async () => (await f.node.exec(["nft", "list", "ruleset"])).stdout;
    expect(await ruleset()).toContain(gone.pod.containerId);
    const r = await doctor(f);
    expect(
      problems(r.findings)
        .map((x) => x.message)
        .sort(),
    ).toEqual([
      `hostPort rules (nftables) of network cbr0 name container ${gone.pod.containerId}, which holds no reservation on this node`,
      `masquerade rules of network cbr0 name container ${gone.pod.containerId}, which holds no reservation on this node`,
    ]);
    const gc = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(gc.stdout, gc.stdout + gc.stderr).toMatch(
      new RegExp(
        `released leftovers of ${gone.pod.containerId}/eth0 in network cbr0 \\(no reservation\\): (masquerade and hostPort|hostPort and masquerade) rules`,
      ),
    );
    const after = await ruleset();
    expect(after).not.toContain(gone.pod.containerId);
    expect(after).toContain(live.pod.containerId);
    expect(problems((await doctor(f)).findings)).toEqual([]);
  });

  it("finds kernel settings pods need: route_localnet reset under portmap, forwarding off, bridged traffic not through iptables, FORWARD dropping pod traffic", async () => {
    const { f } = await healthyNode();
    await f.node.exec(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0", "net.bridge.bridge-nf-call-iptables=0"]);
    await f.node.exec(["iptables", "-P", "FORWARD", "DROP"]);
    await f.node.exec(["sysctl", "-q", "-w", `net.ipv4.conf.${f.bridge}.route_localnet=0`]);
    const [a, b] = f.subnet.split(".");
    const cluster = `${a}.${b}.0.0/16`;
    await f.node.exec(["iptables", "-A", "FORWARD", "-s", cluster, "-j", "ACCEPT"]);
    const r = await doctor(f);
    expect(r.status).toBe(1);
    expect(problems(r.findings)).toEqual([
      expect.objectContaining({
        area: "kernel",
        severity: "warning",
        message: `hostPorts are mapped but route_localnet is off on ${f.bridge}: connections to localhost:hostPort fail`,
        fix: `sysctl -w net.ipv4.conf.${f.bridge}.route_localnet=1`,
      }),
      expect.objectContaining({
        area: "kernel",
        severity: "error",
        message: expect.stringMatching(/^net\.ipv4\.ip_forward is 0/),
        fix: expect.stringContaining("sysctl -w net.ipv4.ip_forward=1"),
      }),
      expect.objectContaining({
        area: "kernel",
        severity: "warning",
        message: expect.stringMatching(/^net\.bridge\.bridge-nf-call-iptables is 0/),
      }),
      expect.objectContaining({
        area: "kernel",
        severity: "error",
        message: `the FORWARD policy is DROP and nothing accepts pod traffic to ${cluster}: pods cannot reach other nodes`,
        fix: `iptables -A FORWARD -d ${cluster} -j ACCEPT`,
      }),
    ]);
  });
});
