/**
 * `cni-ts gc` on a kube-flannel node with the stock 0.3.1 conflist, where the runtime never sends
 * GC: after a crash (pods' namespaces gone, no DEL) and after a reboot (namespaces, the bridge and
 * libcni's cache gone, reservations kept) it lists exactly the dead pods, and --apply releases
 * them and everything they owned while live pods keep everything. A reservation whose ADD is still
 * in progress is never released.
 */
import { spawn } from "node:child_process";
import { readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { OURS_BIN, TOOL_PATH } from "./lib/paths.js";
import {
  NETWORK,
  TEN_MINUTES,
  addFlannelPod,
  backdate,
  crashPod,
  flannelNode,
  leakSuite,
  ls,
  natRules,
  nodeCommand,
  pathFlags,
  podAddresses,
  reservationsOf,
} from "./lib/suites/leaks.js";

const sandbox = leakSuite();

function readlinkQuiet(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

async function waitUntil(ok: () => boolean, ms = 5000): Promise<void> {
  for (const until = Date.now() + ms; !ok();) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("cni-ts gc on a kube-flannel node (0.3.1 conflist)", () => {
  it("after a crash: the dry run lists exactly the dead pods; --apply releases them and all they owned; live pods untouched", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }));
    // containerd's loopback network beside the conflist: every pod is attached to both.
    f.node.writeConflist({ name: "lo", cniVersion: "0.3.1", plugins: [{ type: "loopback" }] }, "99-loopback.conflist");
    const pods = [];
    for (const [i, label] of ["a", "b", "c", "d"].entries()) {
      const p = await addFlannelPod(f, label, 18100 + i);
      expectOk(await f.node.cnitool("add", "lo", p.pod, { ifname: "lo" }));
      pods.push(p);
    }
    const [a, b, c, d] = pods as [(typeof pods)[0], (typeof pods)[0], (typeof pods)[0], (typeof pods)[0]];
    await crashPod(f, c.pod);
    await crashPod(f, d.pod);
    backdate(f.node.dataDir, TEN_MINUTES);
    backdate(f.node.cacheDir, TEN_MINUTES);
    const before = {
      reservations: reservationsOf(f),
      saved: ls(f.flannelDir),
      cache: ls(f.resultsDir),
      nat: await natRules(f),
    };
    for (const p of pods) expect(before.nat).toContain(p.pod.containerId);

    const dry = await nodeCommand(f, ["gc", ...pathFlags(f)]);
    expect(dry.status, dry.stderr).toBe(0);
    const wouldRelease = dry.stdout.split("\n").filter((l) => l.startsWith("would release"));
    expect(wouldRelease, dry.stdout).toHaveLength(2);
    expect(wouldRelease[0]).toContain(`${c.address} of network ${NETWORK}: ${c.pod.containerId}/eth0, reserved 6`);
    expect(wouldRelease[1]).toContain(`${d.address} of network ${NETWORK}: ${d.pod.containerId}/eth0`);
    expect(wouldRelease[0]).toContain(`flannel config ${join(f.flannelDir, c.pod.containerId)}`);
    expect(wouldRelease[0]).toContain(`cached result ${join(f.resultsDir, `${NETWORK}-${c.pod.containerId}-eth0`)}`);
    expect(dry.stdout).toMatch(/4 reservations, 2 in use, 0 younger than 300 s, 2 leaked/);
    expect(dry.stdout).toContain("dry run: nothing changed");
    expect({
      reservations: reservationsOf(f),
      saved: ls(f.flannelDir),
      cache: ls(f.resultsDir),
      nat: await natRules(f),
    }).toEqual(before);

    const applied = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(applied.status, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`released ${c.address} of network ${NETWORK}`);
    expect(applied.stdout).toContain(
      "portmap: DEL ok; flannel: DEL ok; network lo: loopback: DEL ok; cached result removed",
    );
    expect(reservationsOf(f)).toEqual({ [a.address]: a.pod.containerId, [b.address]: b.pod.containerId });
    expect(ls(f.flannelDir)).toEqual([a.pod.containerId, b.pod.containerId].sort());
    const cacheOf = (p: typeof a) => [`${NETWORK}-${p.pod.containerId}-eth0`, `lo-${p.pod.containerId}-lo`];
    expect(ls(f.resultsDir)).toEqual([...cacheOf(a), ...cacheOf(b)].sort());
    const nat = await natRules(f);
    for (const p of [c, d]) expect(nat).not.toContain(p.pod.containerId);
    for (const p of [a, b]) expect(nat).toContain(p.pod.containerId);

    // Live pods keep working: they reach each other, and a second run finds nothing.
    for (const p of [a, b]) expect(await podAddresses(f, p.pod)).toContain(p.address);
    const ping = await f.node.execInPod(a.pod, ["ping", "-c", "1", "-W", "2", b.address], { check: false });
    expect(ping.status, ping.stdout).toBe(0);
    const again = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(again.stdout).toContain("nothing to release");
    for (const p of [a, b]) {
      expectOk(await f.node.cnitool("del", NETWORK, p.pod));
      expectOk(await f.node.cnitool("del", "lo", p.pod, { ifname: "lo" }));
    }
    expect(reservationsOf(f)).toEqual({});
  });

  it("after a reboot: namespaces, bridge and libcni's cache gone, reservations kept; pods added since are untouched", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }));
    const old = [await addFlannelPod(f, "a"), await addFlannelPod(f, "b"), await addFlannelPod(f, "c")];
    for (const p of old) await crashPod(f, p.pod);
    const del = await f.node.exec(["ip", "link", "del", f.bridge], { check: false });
    expect(del.status, del.stderr).toBe(0);
    rmSync(f.node.cacheDir, { recursive: true, force: true });
    backdate(f.node.dataDir, TEN_MINUTES);
    const fresh = await addFlannelPod(f, "e");

    const dry = await nodeCommand(f, ["gc", "--network", NETWORK, ...pathFlags(f)]);
    expect(dry.status, dry.stderr).toBe(0);
    const listed = dry.stdout.split("\n").filter((l) => l.startsWith("would release"));
    expect(listed.map((l) => l.split(" ")[2])).toEqual(old.map((p) => p.address));
    expect(dry.stdout).toMatch(/4 reservations, 1 in use, 0 younger than 300 s, 3 leaked/);

    const applied = await nodeCommand(f, ["gc", "--apply", "--network", NETWORK, ...pathFlags(f)]);
    expect(applied.status, applied.stdout + applied.stderr).toBe(0);
    expect(reservationsOf(f)).toEqual({ [fresh.address]: fresh.pod.containerId });
    expect(ls(f.flannelDir)).toEqual([fresh.pod.containerId]);
    expect(await podAddresses(f, fresh.pod)).toContain(fresh.address);
    expectOk(await f.node.cnitool("del", NETWORK, fresh.pod));
  });

  it("dual stack: a dead pod's IPv4 and IPv6 reservations go together, the live pod keeps both", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }), { dualStack: true });
    const live = await addFlannelPod(f, "a");
    const dead = await addFlannelPod(f, "b");
    expect(live.addresses).toHaveLength(2);
    await crashPod(f, dead.pod);
    backdate(f.node.dataDir, TEN_MINUTES);
    const dry = await nodeCommand(f, ["gc", ...pathFlags(f)]);
    expect(
      dry.stdout.split("\n").filter((l) => l.startsWith("would release")),
      dry.stdout,
    ).toEqual([
      expect.stringContaining(
        `would release ${dead.addresses.join(" ")} of network ${NETWORK}: ${dead.pod.containerId}/eth0`,
      ),
    ]);
    const applied = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(applied.status, applied.stdout).toBe(0);
    expect(reservationsOf(f)).toEqual(Object.fromEntries(live.addresses.map((a) => [a, live.pod.containerId])));
    expect(await podAddresses(f, live.pod)).toEqual(expect.arrayContaining(live.addresses));
    expectOk(await f.node.cnitool("del", NETWORK, live.pod));
  });

  it("a runtime re-ADDing a container whose reservation looks leaked makes it an ADD in progress again", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }));
    const a = await addFlannelPod(f, "a");
    await f.node.execInPod(a.pod, ["ip", "link", "del", "eth0"]);
    backdate(f.node.dataDir, TEN_MINUTES);
    const before = await nodeCommand(f, ["gc", ...pathFlags(f)]);
    expect(before.stdout).toContain(`would release ${a.address} of network ${NETWORK}: ${a.pod.containerId}/eth0`);
    // The re-ADD has reserved (host-local answered with the same address) and not configured eth0 yet.
    const saved = JSON.parse(readFileSync(join(f.flannelDir, a.pod.containerId), "utf8")) as { ipam: object };
    const again = await f.node.invoke(
      "host-local",
      "ADD",
      { cniVersion: "0.3.1", name: NETWORK, ipam: saved.ipam },
      a.pod,
    );
    expect((expectOk(again) as { ips: Array<{ address: string }> }).ips[0]!.address).toBe(`${a.address}/24`);
    const after = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(after.stdout).toMatch(/1 reservations, 0 in use, 1 younger than 300 s, 0 leaked/);
    expect(reservationsOf(f)).toEqual({ [a.address]: a.pod.containerId });
    expectOk(await f.node.cnitool("del", NETWORK, a.pod));
  });

  it("a pod whose namespace only a process holds (not pinned under /run/netns) keeps its address; once the process exits it is leaked", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }));
    const a = await addFlannelPod(f, "a");
    const holder = spawn("ip", ["netns", "exec", a.pod.name, "sleep", "120"], {
      stdio: "ignore",
      env: { PATH: TOOL_PATH },
    });
    f.node.onTeardown(() => holder.kill("SIGKILL"));
    await waitUntil(() => readlinkQuiet(`/proc/${holder.pid}/ns/net`) !== readlinkQuiet("/proc/self/ns/net"));
    await crashPod(f, a.pod); // unpinned: only the sleeping process keeps the namespace (and eth0) alive
    backdate(f.node.dataDir, TEN_MINUTES);
    const held = await nodeCommand(f, ["gc", ...pathFlags(f)]);
    expect(held.stdout, held.stdout).toMatch(/1 reservations, 1 in use, 0 younger than 300 s, 0 leaked/);
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;
    // The kernel tears a namespace down asynchronously; once its last holder is gone, no scan sees it.
    const gone = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(gone.stdout).toContain(`released ${a.address} of network ${NETWORK}: ${a.pod.containerId}/eth0`);
    expect(reservationsOf(f)).toEqual({});
  });

  it("releases nothing when a namespace exists but cannot be read (its mount point covered in gc's mount namespace)", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }));
    const live = await addFlannelPod(f, "a");
    const dead = await addFlannelPod(f, "b");
    await crashPod(f, dead.pod);
    backdate(f.node.dataDir, TEN_MINUTES);
    const cover = join(f.node.workDir, "cover");
    writeFileSync(cover, "");
    // A private mount namespace (nothing outside it changes) in which pod a's pinned namespace is
    // still mounted but hidden under another mount: gc cannot tell what it holds.
    const argv = [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount --bind "$1" "$2" && shift 2 && exec "$@"',
      "sh",
      cover,
      live.pod.path,
    ];
    const r = await f.node.exec([...argv, join(OURS_BIN, "cni-ts"), "gc", "--apply", ...pathFlags(f)], {
      check: false,
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /scan incomplete: network namespace \d+ could not be read \(its mount point is covered by another mount\)/,
    );
    expect(r.stdout).toContain("nothing is released while a network namespace cannot be read");
    expect(reservationsOf(f)).toEqual({ [live.address]: live.pod.containerId, [dead.address]: dead.pod.containerId });
    const ok = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(ok.status, ok.stdout).toBe(0);
    expect(reservationsOf(f)).toEqual({ [live.address]: live.pod.containerId });
    expectOk(await f.node.cnitool("del", NETWORK, live.pod));
  });

  it("an ADD in progress (address reserved, interface not configured yet) is never reclaimed, by gc or by an exhausted range", async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours" }), { subnetPrefix: 29 });
    const done = await addFlannelPod(f, "a");
    // Four more ADDs stopped right after host-local reserved (what a runtime sees mid-ADD): host-local
    // alone through the delegate config flannel saved for pod a, in pods whose interface never comes.
    const saved = JSON.parse(readFileSync(join(f.flannelDir, done.pod.containerId), "utf8")) as { ipam: object };
    const inProgress = [];
    for (const label of ["b", "c", "d", "e"]) {
      const pod = await f.node.addPod(label);
      const r = await f.node.invoke("host-local", "ADD", { cniVersion: "0.3.1", name: NETWORK, ipam: saved.ipam }, pod);
      expectOk(r);
      inProgress.push(pod);
    }
    expect(Object.keys(reservationsOf(f))).toHaveLength(5); // the /29 is full

    const applied = await nodeCommand(f, ["gc", "--apply", ...pathFlags(f)]);
    expect(applied.status, applied.stdout).toBe(0);
    expect(applied.stdout).toMatch(/5 reservations, 1 in use, 4 younger than 300 s, 0 leaked/);
    expect(Object.keys(reservationsOf(f))).toHaveLength(5);
    // A new ADD finds the range exhausted and reclaims nothing: every unheld reservation is recent.
    const late = await f.node.addPod("f");
    const out = await f.node.cnitool("add", NETWORK, late);
    expect(out.ok).toBe(false);
    expect(out.stderr).toContain("no IP addresses available in range set");
    expect(Object.values(reservationsOf(f)).sort()).toEqual([done.pod, ...inProgress].map((p) => p.containerId).sort());
    expectOk(await f.node.cnitool("del", NETWORK, late));
    for (const p of [done.pod, ...inProgress]) expectOk(await f.node.cnitool("del", NETWORK, p));
  });
});
