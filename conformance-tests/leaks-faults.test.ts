/**
 * Crash safety of `cni-ts gc --apply`: SIGKILLed at each of its steps (after releasing the
 * reservations, after each plugin's DEL, after removing libcni's cache entry), for the first and
 * the second dead pod it works on. After the kill, the live pod still has everything; the next
 * `gc --apply` finds what the killed one left (the reservation, or the leftovers marked by the
 * saved config and cache entry) and finishes; then nothing of the dead pods is left and new pods
 * get addresses nobody else has.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { buildTestBin, removePrivateBinDirs } from "../scripts/soak-lib/campaign.js";
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
  reservationsOf,
} from "./lib/suites/leaks.js";

const sandbox = leakSuite();

let testBin = "";
beforeAll(() => {
  testBin = buildTestBin();
}, 300_000);
afterAll(removePrivateBinDirs);

const STEPS = ["gc:released", "gc:del:portmap", "gc:del:flannel", "gc:cache-removed"];

describe("cni-ts gc --apply killed at each step", () => {
  it("leaves nothing a second run does not finish, and never touches the live pod", { timeout: 300_000 }, async () => {
    const f = flannelNode(await sandbox.node({ impl: "ours", cniPath: [testBin] }));
    const flags = pathFlags(f, testBin);
    const live = await addFlannelPod(f, "live", 18300);
    const liveState = () => ({
      reservation: reservationsOf(f)[live.address],
      saved: existsSync(join(f.flannelDir, live.pod.containerId)),
      cached: existsSync(join(f.resultsDir, `${NETWORK}-${live.pod.containerId}-eth0`)),
    });
    const expectedLive = { reservation: live.pod.containerId, saved: true, cached: true };
    const log = join(f.node.workDir, "faults.log");
    let trial = 0;
    let killed = 0;
    for (const step of STEPS) {
      for (const nth of [1, 2]) {
        trial++;
        const dead = [
          await addFlannelPod(f, `d${trial}x`, 18400 + trial * 2),
          await addFlannelPod(f, `d${trial}y`, 18401 + trial * 2),
        ];
        for (const d of dead) await crashPod(f, d.pod);
        backdate(f.node.dataDir, TEN_MINUTES);
        backdate(f.node.cacheDir, TEN_MINUTES);
        rmSync(log, { force: true });

        const r = await nodeCommand(
          f,
          ["gc", "--apply", ...flags],
          { CNI_TS_FAULT: step, CNI_TS_FAULT_NTH: String(nth), CNI_TS_FAULT_LOG: log },
          testBin,
        );
        const passed = readFileSync(log, "utf8").trim().split("\n");
        const what = `kill at ${step} #${nth}: ${r.stdout}${r.stderr}`;
        expect(r.status, what).not.toBe(0);
        expect(
          passed.filter((p) => p === step),
          what,
        ).toHaveLength(nth);
        expect(passed.at(-1), what).toBe(step);
        killed++;
        expect(liveState(), what).toEqual(expectedLive);

        const again = await nodeCommand(f, ["gc", "--apply", ...flags], {}, testBin);
        expect(again.status, `${what}\nrecovery: ${again.stdout}${again.stderr}`).toBe(0);
        expect(reservationsOf(f), what).toEqual({ [live.address]: live.pod.containerId });
        expect(ls(f.flannelDir), what).toEqual([live.pod.containerId]);
        expect(ls(f.resultsDir), what).toEqual([`${NETWORK}-${live.pod.containerId}-eth0`]);
        const nat = await natRules(f);
        for (const d of dead) expect(nat, what).not.toContain(d.pod.containerId);
        expect(nat).toContain(live.pod.containerId);
      }
    }
    expect(killed).toBe(STEPS.length * 2);
    // New pods get fresh, unique addresses next to the live one.
    const fresh = [await addFlannelPod(f, "n1"), await addFlannelPod(f, "n2")];
    expect(new Set([live.address, ...fresh.map((x) => x.address)]).size).toBe(3);
    for (const p of [live, ...fresh]) expectOk(await f.node.cnitool("del", NETWORK, p.pod));
    expect(reservationsOf(f)).toEqual({});
  });
});
