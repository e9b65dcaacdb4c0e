import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CniError } from "../../shared/cni/errors.js";
import { loadIpamConfig } from "./config.js";
import { addAddresses, collectGarbage, releaseAddresses } from "./operations.js";

type Op =
  | { kind: "add"; cid: number; ifname: string }
  | { kind: "del"; cid: number; ifname: string }
  | { kind: "gc"; keep: number[] };

const attachment = fc.record({ cid: fc.integer({ min: 0, max: 5 }), ifname: fc.constantFrom("eth0", "net1") });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: attachment.map((a) => ({ kind: "add" as const, ...a })) },
  { weight: 2, arbitrary: attachment.map((a) => ({ kind: "del" as const, ...a })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.integer({ min: 0, max: 11 }), { maxLength: 6 })
      .map((keep) => ({ kind: "gc" as const, keep })),
  },
);
const key = (cid: number, ifname: string) => `c${cid}\r\n${ifname}`;
const ALL = [0, 1, 2, 3, 4, 5].flatMap((cid) => ["eth0", "net1"].map((ifname) => ({ cid, ifname })));

/** The files on disk as address -> owner content. */
function disk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    if (name === "lock" || name.startsWith("last_reserved_ip.")) continue;
    out.set(name, readFileSync(join(dir, name), "utf8"));
  }
  return out;
}

describe("allocator under any sequence of ADD/DEL/GC", () => {
  it("never hands an address out twice and never loses a reservation", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const dataDir = mkdtempSync(join(tmpdir(), "host-local-prop-"));
        try {
          // 5 v4 addresses for up to 12 attachments: exhaustion happens.
          const conf = loadIpamConfig(
            {
              cniVersion: "1.1.0",
              name: "net",
              ipam: { dataDir, ranges: [[{ subnet: "10.0.0.0/29" }], [{ subnet: "fd00::/125" }]] },
            },
            new Map(),
          );
          const model = new Map<string, string[]>(); // attachment -> addresses
          for (const o of ops) {
            if (o.kind === "add") {
              const k = key(o.cid, o.ifname);
              try {
                const got = addAddresses(conf, { containerId: `c${o.cid}`, ifname: o.ifname }).ips.map(
                  (i) => i.address.split("/")[0]!,
                );
                if (model.has(k)) expect(got).toEqual(model.get(k));
                model.set(k, got);
              } catch (e) {
                expect(e).toBeInstanceOf(CniError);
                expect((e as CniError).message).toMatch(/no IP addresses available in range set/);
                expect(model.has(k)).toBe(false);
              }
            } else if (o.kind === "del") {
              releaseAddresses({ name: "net", dataDir }, { containerId: `c${o.cid}`, ifname: o.ifname });
              model.delete(key(o.cid, o.ifname));
            } else {
              const valid = o.keep.map((i) => ALL[i]!);
              collectGarbage(
                { name: "net", dataDir },
                valid.map((a) => ({ containerId: `c${a.cid}`, ifname: a.ifname })),
              );
              const keep = new Set(valid.map((a) => key(a.cid, a.ifname)));
              for (const k of [...model.keys()]) if (!keep.has(k)) model.delete(k);
            }
            const expected = new Map<string, string>();
            for (const [k, addrs] of model) {
              for (const a of addrs) {
                expect(expected.has(a)).toBe(false);
                expected.set(a, k);
              }
            }
            const onDisk = existsDir(join(dataDir, "net")) ? disk(join(dataDir, "net")) : new Map();
            expect(onDisk).toEqual(expected);
          }
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: 50 },
    );
  }, 120_000);
});

function existsDir(p: string): boolean {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
}
