/**
 * Differential test of allocation: random sequences of ADD (some with a requested address), DEL
 * and CHECK run against the Go host-local and ours, each on its own dataDir. After every step the
 * outcomes and the complete store must be identical. An ADD of an attachment that already holds
 * addresses is left out: there ours deliberately answers with those addresses (Go refuses).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { essence, storeFiles, useIpamSandbox } from "./lib/suites/host-local.js";

const sandbox = useIpamSandbox();

type Op = { verb: "ADD" | "DEL" | "CHECK"; cid: number; ip?: string };

const ipArb = fc.oneof(
  fc.integer({ min: 0, max: 9 }).map((n) => `10.62.0.${n}`),
  fc.integer({ min: 3, max: 6 }).map((n) => `10.62.1.${n}`),
  fc.integer({ min: 0, max: 9 }).map((n) => `fd62::${n}`),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      verb: fc.constant("ADD" as const),
      cid: fc.integer({ min: 0, max: 9 }),
      ip: fc.option(ipArb, { nil: undefined, freq: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ verb: fc.constant("DEL" as const), cid: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ verb: fc.constant("CHECK" as const), cid: fc.integer({ min: 0, max: 9 }) }) },
);

/** The store without its lock file; none at all is the same as empty (Go's DEL creates the directory, ours does not). */
function store(dataDir: string): Record<string, string> {
  if (!existsSync(join(dataDir, "hl-seq"))) return {};
  const { lock: _lock, ...rest } = storeFiles(join(dataDir, "hl-seq"));
  return rest;
}

describe("host-local allocation, ours vs the reference on random operation sequences", () => {
  it("gives identical outcomes and stores after every step", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 24 }), async (ops) => {
        round++;
        const conf = (label: string) => ({
          cniVersion: "0.4.0",
          name: "hl-seq",
          ipam: {
            type: "host-local",
            dataDir: sandbox().dataDir(`${label}-${round}`),
            ranges: [
              [
                { subnet: "10.62.0.0/29" },
                { subnet: "10.62.1.0/29", rangeStart: "10.62.1.3", rangeEnd: "10.62.1.5", gateway: "10.62.1.6" },
              ],
              [{ subnet: "fd62::/125", rangeEnd: "fd62::6" }],
            ],
          },
        });
        const holding = new Set<number>();
        const log: string[] = [];
        for (const op of ops) {
          if (op.verb === "ADD" && holding.has(op.cid)) continue;
          const call = { containerId: `s${op.cid}`, args: op.ip ? `IP=${op.ip}` : undefined };
          const ref = await sandbox().run("reference", op.verb, conf("ref"), call);
          const ours = await sandbox().run("ours", op.verb, conf("ours"), call);
          log.push(
            `${op.verb} s${op.cid} ${op.ip ?? ""} -> ${ref.status === 0 ? "ok" : (JSON.parse(ref.stdout) as { msg: string }).msg}`,
          );
          const ctx = log.join("\n");
          expect(essence(ours), ctx).toEqual(essence(ref));
          if (ref.status === 0) expect(ours.stdout, ctx).toBe(ref.stdout);
          expect(store(conf("ours").ipam.dataDir), ctx).toEqual(store(conf("ref").ipam.dataDir));
          if (op.verb === "ADD" && ref.status === 0) holding.add(op.cid);
          if (op.verb === "DEL") holding.delete(op.cid);
        }
      }),
      { numRuns: 25 },
    );
  });
});
