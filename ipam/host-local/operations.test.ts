import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { loadIpamConfig } from "./config.js";
import { addAddresses, checkAddresses, collectGarbage, releaseAddresses, storeStatus } from "./operations.js";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "host-local-ops-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const conf = (ranges: unknown, extra: Record<string, unknown> = {}) =>
  loadIpamConfig(
    { cniVersion: "1.0.0", name: "net", ipam: { type: "host-local", dataDir, ranges }, ...extra },
    new Map(),
  );
const v4 = [[{ subnet: "10.0.0.0/29" }]];
const dual = [[{ subnet: "10.0.0.0/29" }], [{ subnet: "fd00::/125" }]];
const who = (containerId: string, ifname = "eth0") => ({ containerId, ifname });
const ips = (r: { ips: Array<{ address: string }> }) => r.ips.map((i) => i.address);
const store = () => join(dataDir, "net");
const file = (name: string) => readFileSync(join(store(), name), "utf8");

describe("ADD", () => {
  it("allocates in order, writes upstream's bytes and modes", () => {
    const r = addAddresses(conf(dual), who("c1"));
    expect(r.ips).toEqual([
      { address: "10.0.0.2/29", gateway: "10.0.0.1" },
      { address: "fd00::2/125", gateway: "fd00::1" },
    ]);
    expect(ips(addAddresses(conf(dual), who("c2")))).toEqual(["10.0.0.3/29", "fd00::3/125"]);
    expect(file("10.0.0.2")).toBe("c1\r\neth0");
    expect(file("fd00::3")).toBe("c2\r\neth0");
    expect(file("last_reserved_ip.0")).toBe("10.0.0.3");
    expect(file("last_reserved_ip.1")).toBe("fd00::3");
    expect(statSync(join(store(), "10.0.0.2")).mode & 0o777).toBe(0o600);
    expect(statSync(store()).mode & 0o777).toBe(0o755 & ~process.umask());
    expect(statSync(join(store(), "lock")).mode & 0o777).toBe(0o750 & ~process.umask());
    expect(readdirSync(store()).sort()).toEqual(
      ["10.0.0.2", "10.0.0.3", "fd00::2", "fd00::3", "last_reserved_ip.0", "last_reserved_ip.1", "lock"].sort(),
    );
  });

  it("is idempotent: the same attachment gets the same addresses, another ifname a new one", () => {
    const first = ips(addAddresses(conf(dual), who("c1")));
    expect(ips(addAddresses(conf(dual), who("c1")))).toEqual(first);
    expect(ips(addAddresses(conf(dual), who("c1", "net1")))).toEqual(["10.0.0.3/29", "fd00::3/125"]);
    expect(file("last_reserved_ip.0")).toBe("10.0.0.3");
  });

  it("reports exhaustion with upstream's message and releases what it took", () => {
    const c = conf([[{ subnet: "10.0.0.0/29" }], [{ subnet: "10.1.0.0/30" }]]);
    addAddresses(c, who("a"));
    const e = cniErrorOf(() => addAddresses(c, who("b")));
    expect(e.code).toBe(999);
    expect(e.message).toBe("failed to allocate for range 1: no IP addresses available in range set: 10.1.0.1-10.1.0.2");
    expect(readdirSync(store()).filter((n) => n.startsWith("10.0.0."))).toEqual(["10.0.0.2"]);
  });

  it("wraps round robin: a released address is reused only after the whole range", () => {
    const c = conf(v4);
    for (const id of ["a", "b", "c"]) addAddresses(c, who(id));
    releaseAddresses({ name: "net", dataDir }, who("a"));
    expect(ips(addAddresses(c, who("d")))).toEqual(["10.0.0.5/29"]);
    expect(ips(addAddresses(c, who("e")))).toEqual(["10.0.0.6/29"]);
    expect(ips(addAddresses(c, who("f")))).toEqual(["10.0.0.2/29"]);
    expect(cniErrorOf(() => addAddresses(c, who("g"))).message).toBe(
      "failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.6",
    );
  });

  it("when the range is full, reuses a reservation file that names nobody (empty or garbage)", () => {
    const c = conf(v4);
    for (const id of ["a", "b", "c", "d", "e"]) addAddresses(c, who(id));
    writeFileSync(join(store(), "10.0.0.4"), "");
    writeFileSync(join(store(), "10.0.0.5"), "not an id");
    expect(ips(addAddresses(c, who("f")))).toEqual(["10.0.0.4/29"]);
    expect(ips(addAddresses(c, who("g")))).toEqual(["10.0.0.5/29"]);
    expect(file("10.0.0.4")).toBe("f\r\neth0");
    expect(cniErrorOf(() => addAddresses(c, who("h"))).message).toMatch(/no IP addresses available/);
  });

  it("honours requested addresses, idempotently, with upstream's errors", () => {
    const c = conf(v4, { runtimeConfig: { ips: ["10.0.0.5"] } });
    expect(ips(addAddresses(c, who("a")))).toEqual(["10.0.0.5/29"]);
    expect(ips(addAddresses(c, who("a")))).toEqual(["10.0.0.5/29"]);
    expect(cniErrorOf(() => addAddresses(c, who("b"))).message).toBe(
      "failed to allocate for range 0: requested IP address 10.0.0.5 is not available in range set 10.0.0.1-10.0.0.6",
    );
    const gw = conf(v4, { runtimeConfig: { ips: ["10.0.0.1"] } });
    expect(cniErrorOf(() => addAddresses(gw, who("b"))).message).toBe(
      "failed to allocate for range 0: requested ip 10.0.0.1 is subnet's gateway",
    );
    const outside = conf(v4, { runtimeConfig: { ips: ["10.9.0.1"] } });
    expect(cniErrorOf(() => addAddresses(outside, who("b"))).message).toBe(
      "failed to allocate all requested IPs: 10.9.0.1",
    );
    expect(readdirSync(store()).filter((n) => n.startsWith("10."))).toEqual(["10.0.0.5"]);
  });

  it("returns a legacy (container ID only) reservation to its container", () => {
    addAddresses(conf(v4), who("x"));
    writeFileSync(join(store(), "10.0.0.4"), "legacy1", { mode: 0o600 });
    expect(ips(addAddresses(conf(v4), who("legacy1")))).toEqual(["10.0.0.4/29"]);
    checkAddresses(conf(v4), who("legacy1"));
    releaseAddresses({ name: "net", dataDir }, who("legacy1"));
    expect(readdirSync(store())).not.toContain("10.0.0.4");
  });

  it("removes temp files a crash left behind", () => {
    addAddresses(conf(v4), who("a"));
    writeFileSync(join(store(), ".cni-ts-tmp.1.abc"), "b\r\neth0");
    addAddresses(conf(v4), who("b"));
    expect(readdirSync(store()).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("never leaves dataDir", () => {
    const c = loadIpamConfig({ cniVersion: "1.0.0", name: "..", ipam: { dataDir, ranges: v4 } }, new Map());
    expect(cniErrorOf(() => addAddresses(c, who("a"))).message).toMatch(/store would be outside dataDir/);
    expect(() => addAddresses(conf(v4), who("../../etc"))).toThrow(/invalid characters in containerID/);
  });
});

describe("DEL, CHECK", () => {
  it("DEL is idempotent and does not create a missing store", () => {
    releaseAddresses({ name: "net", dataDir }, who("nobody"));
    expect(readdirSync(dataDir)).toEqual([]);
    addAddresses(conf(dual), who("a"));
    releaseAddresses({ name: "net", dataDir }, who("a"));
    releaseAddresses({ name: "net", dataDir }, who("a"));
    expect(readdirSync(store()).sort()).toEqual(["last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
  });

  it("DEL releases only the given ifname", () => {
    addAddresses(conf(v4), who("a"));
    addAddresses(conf(v4), who("a", "net1"));
    releaseAddresses({ name: "net", dataDir }, who("a", "net1"));
    expect(file("10.0.0.2")).toBe("a\r\neth0");
    expect(readdirSync(store())).not.toContain("10.0.0.3");
  });

  it("CHECK fails with upstream's message when nothing is reserved", () => {
    addAddresses(conf(v4), who("a"));
    checkAddresses(conf(v4), who("a"));
    expect(cniErrorOf(() => checkAddresses(conf(v4), who("b"))).message).toBe(
      "host-local: Failed to find address added by container b",
    );
  });
});

describe("GC, STATUS", () => {
  it("GC releases everything but the valid attachments, including empty and garbage files", () => {
    for (const id of ["a", "b", "c"]) addAddresses(conf(dual), who(id));
    writeFileSync(join(store(), "10.0.0.5"), "");
    writeFileSync(join(store(), "10.0.0.6"), "keepme");
    const released = collectGarbage({ name: "net", dataDir }, [who("b"), who("keepme", "eth9")]);
    expect(released.sort()).toEqual(["10.0.0.2", "10.0.0.4", "10.0.0.5", "fd00::2", "fd00::4"].sort());
    expect(readdirSync(store()).sort()).toEqual(
      ["10.0.0.3", "10.0.0.6", "fd00::3", "last_reserved_ip.0", "last_reserved_ip.1", "lock"].sort(),
    );
    expect(collectGarbage({ name: "net", dataDir }, []).sort()).toEqual(["10.0.0.3", "10.0.0.6", "fd00::3"].sort());
  });

  it("STATUS: fine, then code 50 when a range set is exhausted, and when the store is unusable", () => {
    const c = conf([[{ subnet: "10.0.0.0/30" }]]);
    storeStatus(c);
    addAddresses(c, who("a"));
    const e = cniErrorOf(() => storeStatus(c));
    expect(e.code).toBe(50);
    expect(e.message).toBe("failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.2");
    const blocked = join(dataDir, "file");
    writeFileSync(blocked, "");
    const bad = loadIpamConfig({ cniVersion: "1.1.0", name: "net", ipam: { dataDir: blocked, ranges: v4 } }, new Map());
    const e2 = cniErrorOf(() => storeStatus(bad));
    expect(e2.code).toBe(50);
    expect(e2.message).toMatch(/host-local store .* is not usable/);
  });
});
