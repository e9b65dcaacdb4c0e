import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";
import type { HolderScan } from "../../shared/node/netns-scan.js";
import { loadIpamConfig } from "./config.js";
import { DEFAULT_GRACE_MS, judge, judgeStore, releaseLeaked } from "./leaks.js";
import { addAddresses } from "./operations.js";
import { withLockedStore } from "./store.js";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "host-local-leaks-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const conf = () =>
  loadIpamConfig(
    { cniVersion: "1.0.0", name: "net", ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.0.0.0/29" }]] } },
    new Map(),
  );
const who = (containerId: string) => ({ containerId, ifname: "eth0" });
const dir = () => join(dataDir, "net");
const ips = (r: { ips: Array<{ address: string }> }) => r.ips.map((i) => i.address);
const scanOf = (held: string[], failures: string[] = []): HolderScan => ({
  addresses: new Set(held),
  namespaces: 3,
  failures,
  startedAt: Date.now(),
});
const age = (name: string, ms: number) => {
  const t = new Date(Date.now() - ms);
  utimesSync(join(dir(), name), t, t);
};
const OLD = DEFAULT_GRACE_MS + 60_000;

describe("the leak definition", () => {
  it("held beats age, the grace period protects recent reservations, an incomplete scan decides nothing", () => {
    const now = Date.now();
    const scan = scanOf(["10.0.0.2"]);
    expect(judge({ address: "10.0.0.2", mtimeMs: now - OLD }, scan, DEFAULT_GRACE_MS).kind).toBe("held");
    expect(judge({ address: "10.0.0.3", mtimeMs: now - OLD }, scan, DEFAULT_GRACE_MS).kind).toBe("leaked");
    expect(judge({ address: "10.0.0.3", mtimeMs: now - 1000 }, scan, DEFAULT_GRACE_MS).kind).toBe("young");
    expect(judge({ address: "10.0.0.3", mtimeMs: now + 60_000 }, scan, DEFAULT_GRACE_MS).kind).toBe("young");
    expect(
      judge({ address: "10.0.0.3", mtimeMs: now - OLD }, scanOf([], ["ns 4026532 could not be read"]), DEFAULT_GRACE_MS)
        .kind,
    ).toBe("unknown");
  });

  it("IPv6 addresses match whatever way they are written", () => {
    const scan = scanOf(["fd00::3"]);
    expect(judge({ address: "fd00:0::3", mtimeMs: 0 }, scan, DEFAULT_GRACE_MS).kind).toBe("held");
  });

  it("judges every reservation of a store and ignores other files", () => {
    for (const id of ["a", "b", "c"]) addAddresses(conf(), who(id));
    age("10.0.0.2", OLD);
    age("10.0.0.3", OLD);
    const judged = judgeStore(dir(), scanOf(["10.0.0.3"]));
    expect(judged.map((r) => [r.address, r.owner?.containerId, r.verdict.kind])).toEqual([
      ["10.0.0.2", "a", "leaked"],
      ["10.0.0.3", "b", "held"],
      ["10.0.0.4", "c", "young"],
    ]);
  });

  it("the release re-checks under the lock: a file re-reserved by someone else or refreshed since is kept", () => {
    for (const id of ["a", "b"]) addAddresses(conf(), who(id));
    age("10.0.0.2", OLD);
    age("10.0.0.3", OLD);
    const scan = scanOf([]);
    const leaked = judgeStore(dir(), scan).filter((r) => r.verdict.kind === "leaked");
    expect(leaked.map((r) => r.address)).toEqual(["10.0.0.2", "10.0.0.3"]);
    writeFileSync(join(dir(), "10.0.0.2"), "z\r\neth0"); // DEL + a new ADD in between
    age("10.0.0.2", OLD);
    addAddresses(conf(), who("b")); // b's runtime re-ADDs: an ADD in progress again
    const released = withLockedStore(dir(), (store) => releaseLeaked(store, leaked, scan, DEFAULT_GRACE_MS));
    expect(released).toEqual([]);
    expect(statSync(join(dir(), "10.0.0.2")).isFile()).toBe(true);
  });
});

describe("host-local ADD on an exhausted range", () => {
  const fill = () => {
    for (const id of ["a", "b", "c", "d", "e"]) addAddresses(conf(), who(id));
  };

  it("reclaims the leaked reservations, keeps the held ones and notes what it did", () => {
    fill();
    for (const n of [2, 3, 4, 5, 6]) age(`10.0.0.${n}`, OLD);
    const notes: string[] = [];
    const scan = () => scanOf(["10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"]);
    expect(ips(addAddresses(conf(), who("g"), { note: (m) => notes.push(m), scan }))).toEqual(["10.0.0.4/29"]);
    expect(notes).toEqual([
      expect.stringMatching(
        /^host-local: range exhausted; reclaimed 10\.0\.0\.4 \(c\/eth0, \d+ s old, in no network namespace\)$/,
      ),
    ]);
  });

  it("reclaims nothing when every reservation is recent, and never scans then", () => {
    fill();
    let scanned = 0;
    const e = cniErrorOf(() => addAddresses(conf(), who("g"), { scan: () => (scanned++, scanOf([])) }));
    expect(e.message).toBe("failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.6");
    expect(e.details).toMatch(/less than 5 minutes old/);
    expect(scanned).toBe(0);
  });

  it("reclaims nothing when the scan is incomplete, and says why", () => {
    fill();
    for (const n of [2, 3, 4, 5, 6]) age(`10.0.0.${n}`, OLD);
    const e = cniErrorOf(() =>
      addAddresses(conf(), who("g"), { scan: () => scanOf([], ["network namespace 42 could not be read"]) }),
    );
    expect(e.details).toMatch(/scan was incomplete: network namespace 42/);
  });

  it("an old reservation that is in use is not reclaimed", () => {
    fill();
    for (const n of [2, 3, 4, 5, 6]) age(`10.0.0.${n}`, OLD);
    const all = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"];
    const e = cniErrorOf(() => addAddresses(conf(), who("g"), { scan: () => scanOf(all) }));
    expect(e.details).toMatch(/^5 reserved addresses are in use/);
  });
});
