import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createNetns, deleteNetns } from "./netns.js";
import { newToken } from "./sandbox.js";
import { LeakError, findLeftovers, teardownResources } from "./teardown.js";

describe("teardown leak check", () => {
  it("reports a namespace, a directory, a root-netns link and a changed root sysctl that are left", async () => {
    const name = `cts-${process.pid}-leak${newToken()}`;
    await createNetns(name);
    const dir = mkdtempSync(join(tmpdir(), `${name}-`));
    try {
      const left = await findLeftovers({
        netns: [name],
        dir,
        uniqueNames: ["lo"], // read-only probe: "lo" always exists in the root netns
        rootSysctlsAtStart: { "net/ipv4/ip_forward": "before" },
        readRootSysctls: () => ({ "net/ipv4/ip_forward": "after" }),
      });
      expect(left).toEqual([
        `network namespace /var/run/netns/${name}`,
        `directory ${dir}`,
        "link lo in the ROOT network namespace",
        "root netns sysctl net/ipv4/ip_forward changed from before to after while this test ran",
      ]);
    } finally {
      await deleteNetns(name);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("deletes exactly the listed namespaces and directory, then finds nothing", async () => {
    const name = `cts-${process.pid}-td${newToken()}`;
    await createNetns(name);
    const dir = mkdtempSync(join(tmpdir(), `${name}-`));
    const same = { "net/ipv4/ip_forward": "x" };
    await teardownResources({
      netns: [name],
      dir,
      uniqueNames: [`nx${newToken()}`],
      rootSysctlsAtStart: same,
      readRootSysctls: () => same,
    });
    expect(
      await findLeftovers({ netns: [name], dir, uniqueNames: [], rootSysctlsAtStart: {}, readRootSysctls: () => ({}) }),
    ).toEqual([]);
  });

  it("throws a LeakError listing what it could not clean", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cts-leak-"));
    const err = await teardownResources({
      netns: [],
      dir,
      uniqueNames: [],
      rootSysctlsAtStart: { k: "1" },
      readRootSysctls: () => ({ k: "0" }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeakError);
    expect((err as LeakError).leftovers).toEqual(["root netns sysctl k changed from 1 to 0 while this test ran"]);
  });
});
