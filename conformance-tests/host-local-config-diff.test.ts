import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storeFiles, useIpamSandbox } from "./host-local-helpers.js";

/**
 * Differential test of configuration handling: random IPv4 ranges (host bits, tiny prefixes,
 * starts/ends/gateways in and out of the subnet, overlapping ranges and sets) are given to the Go
 * host-local and to ours. Accepted by both: identical result bytes and store files. Refused by
 * Go: refused by ours with Go's message as the prefix (ours adds the field). Accepted by Go but
 * refused by ours: only a gateway outside its subnet (a deliberate difference).
 */
const sandbox = useIpamSandbox();

const ipAt = (third: number, n: number) => (n < 0 || n > 255 ? `10.61.${third + 1}.${n & 255}` : `10.61.${third}.${n}`);

const rangeArb = fc
  .record({
    third: fc.integer({ min: 0, max: 2 }),
    prefix: fc.integer({ min: 26, max: 32 }),
    hostBits: fc.integer({ min: 0, max: 8 }),
    start: fc.option(fc.integer({ min: -2, max: 70 }), { nil: undefined }),
    end: fc.option(fc.integer({ min: -2, max: 70 }), { nil: undefined }),
    gateway: fc.option(fc.integer({ min: -2, max: 70 }), { nil: undefined }),
  })
  .map((r) => {
    const size = 2 ** (32 - r.prefix);
    const host = r.hostBits === 1 ? 1 : 0; // now and then a subnet with host bits set
    const range: Record<string, string> = { subnet: `10.61.${r.third}.${host}/${r.prefix}` };
    if (r.start !== undefined) range.rangeStart = ipAt(r.third, r.start % (size + 4));
    if (r.end !== undefined) range.rangeEnd = ipAt(r.third, r.end % (size + 4));
    if (r.gateway !== undefined) range.gateway = ipAt(r.third, r.gateway % (size + 4));
    return range;
  });

const confArb = fc.array(fc.array(rangeArb, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 2 });

describe("host-local configuration, ours vs the reference on random ranges", () => {
  it("agrees on acceptance, results and files; refusals carry Go's message", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(confArb, async (ranges) => {
        round++;
        const make = (label: string) => ({
          cniVersion: "0.3.1",
          name: "hl-fuzz",
          ipam: { type: "host-local", dataDir: sandbox().dataDir(`${label}-${round}`), ranges },
        });
        const ref = await sandbox().run("reference", "ADD", make("ref"), { containerId: "f1" });
        const ours = await sandbox().run("ours", "ADD", make("ours"), { containerId: "f1" });
        const ctx = JSON.stringify(ranges);
        if (ref.status === 0 && ours.status === 0) {
          expect(ours.stdout, ctx).toBe(ref.stdout);
          expect(storeFiles(join(make("ours").ipam.dataDir, "hl-fuzz")), ctx).toEqual(storeFiles(join(make("ref").ipam.dataDir, "hl-fuzz")));
        } else if (ref.status !== 0) {
          expect(ours.status, ctx).not.toBe(0);
          const goMsg = (JSON.parse(ref.stdout) as { msg: string }).msg;
          const ourMsg = (JSON.parse(ours.stdout) as { msg: string }).msg;
          expect(ourMsg.startsWith(goMsg), `${ctx}\n go: ${goMsg}\n ours: ${ourMsg}`).toBe(true);
        } else {
          expect((JSON.parse(ours.stdout) as { msg: string }).msg, ctx).toMatch(/Gateway \S+ not in network/);
        }
      }),
      { numRuns: 150 },
    );
  });
});
