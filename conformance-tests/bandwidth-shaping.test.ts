/**
 * Shaping measured: 3 MB over TCP between two pods of one sandbox node, into and out of a pod
 * limited to 16 Mbit/s (2 MB/s) each way, with ours and with the Go plugin. The receiver times
 * the transfer from its first to its last byte and leaves the first burst out of the count.
 *
 * Tolerance: a token bucket cannot pass more than its rate once the burst is spent, so the upper
 * bound is tight — 10 % above the rate covers the timer granularity and TCP's last in-flight
 * window. A loaded machine can only slow a transfer down, so the lower bound is loose (half the
 * rate): it still fails a bucket that was set far too low, and an unshaped transfer between the
 * same pods (hundreds of MB/s on a veth) shows the limit is the bucket's doing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import type { Impl } from "./lib/paths.js";
import type { Pod, SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { type BinDir, bandwidthBinDir, bandwidthConflist, bwNames, shapingLeftovers } from "./lib/suites/bandwidth.js";

beforeAll(async () => {
  await ensureCnitool();
});

const bins: BinDir[] = [];
afterAll(() => {
  for (const b of bins.splice(0)) b.remove();
});

const RATE_BITS = 16_000_000;
const BURST_BITS = 800_000;
const BYTES = 3_000_000;
const PORT = 15201;

/** Receives BYTES on PORT, prints bytes/second counted after the first burst. */
const RECEIVER = `
const net = require("net");
const [total, burst] = [Number(process.argv[1]), Number(process.argv[2])];
let got = 0, t0 = 0, afterBurst = 0;
const srv = net.createServer((s) => {
  s.on("data", (b) => {
    const now = process.hrtime.bigint();
    got += b.length;
    if (got >= burst && t0 === 0) { t0 = now; afterBurst = got; }
    if (got >= total) {
      const secs = Number(now - t0) / 1e9;
      console.log(JSON.stringify({ rate: (got - afterBurst) / secs, secs }));
      process.exit(0);
    }
  });
});
srv.listen(Number(process.argv[3]), "0.0.0.0", () => console.log("ready"));
setTimeout(() => { console.log(JSON.stringify({ error: "timeout", got })); process.exit(1); }, 20000);
`;

/** Connects (retrying until the receiver listens) and sends BYTES. */
const SENDER = `
const net = require("net");
const [host, port, total] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const deadline = Date.now() + 5000;
const go = () => {
  const s = net.connect(port, host, () => { s.end(Buffer.alloc(total, 120)); });
  s.on("error", () => { if (Date.now() < deadline) setTimeout(go, 50); else process.exit(1); });
};
go();
`;

async function transfer(node: SandboxNode, from: Pod, to: Pod, toAddress: string): Promise<number> {
  const receiver = node.execInPod(
    to,
    ["node", "-e", RECEIVER, String(BYTES), String(BURST_BITS / 8 + 64 * 1024), String(PORT)],
    { check: false, timeoutMs: 30_000 },
  );
  await node.execInPod(from, ["node", "-e", SENDER, toAddress, String(PORT), String(BYTES)], {
    check: false,
    timeoutMs: 30_000,
  });
  const out = await receiver;
  const line = out.stdout.trim().split("\n").at(-1) ?? "";
  const parsed = JSON.parse(line) as { rate?: number; error?: string };
  if (parsed.rate === undefined) throw new Error(`transfer ${from.label} -> ${to.label} failed: ${line} ${out.stderr}`);
  return parsed.rate;
}

async function podIp(node: SandboxNode, pod: Pod): Promise<string> {
  const r = await node.execInPod(pod, ["ip", "-j", "-4", "addr", "show", "dev", "eth0"]);
  return (JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string }> }>)[0]!.addr_info[0]!.local;
}

describe("bandwidth shapes traffic (measured)", () => {
  const sandbox = useSandbox();
  const limit = RATE_BITS / 8;
  const measured: string[] = [];
  afterAll(() => {
    if (measured.length > 0) console.log(`bandwidth shaping at ${limit} B/s:\n  ${measured.join("\n  ")}`);
  });

  for (const impl of ["ours", "reference"] as Impl[]) {
    it(`${impl}: into and out of a pod limited to 16 Mbit/s each way`, async () => {
      const bin = bandwidthBinDir(impl);
      bins.push(bin);
      const node = await sandbox.node({ impl, cniPath: [bin.dir] });
      const n = bwNames(node);
      node.writeConflist(bandwidthConflist(node, n));
      const shaped = await node.addPod("a");
      const other = await node.addPod("b");
      const third = await node.addPod("c");
      const bw = { ingressRate: RATE_BITS, ingressBurst: BURST_BITS, egressRate: RATE_BITS, egressBurst: BURST_BITS };
      expectOk(await node.cnitool("add", n.network, shaped, { capArgs: { bandwidth: bw } }));
      expectOk(await node.cnitool("add", n.network, other));
      expectOk(await node.cnitool("add", n.network, third));
      const [ipA, ipB, ipC] = [await podIp(node, shaped), await podIp(node, other), await podIp(node, third)];

      const ingress = await transfer(node, other, shaped, ipA);
      const egress = await transfer(node, shaped, other, ipB);
      const free = await transfer(node, other, third, ipC);
      measured.push(
        `${impl}: into the pod ${(ingress / limit).toFixed(3)}x, out of it ${(egress / limit).toFixed(3)}x, unshaped ${(free / limit).toFixed(1)}x`,
      );
      for (const [what, rate] of [
        ["into the pod", ingress],
        ["out of the pod", egress],
      ] as const) {
        expect(rate, `${impl} ${what}: ${rate.toFixed(0)} B/s`).toBeLessThanOrEqual(limit * 1.1);
        expect(rate, `${impl} ${what}: ${rate.toFixed(0)} B/s`).toBeGreaterThanOrEqual(limit * 0.5);
      }
      expect(free).toBeGreaterThan(limit * 3);

      expectOk(await node.cnitool("del", n.network, shaped, { capArgs: { bandwidth: bw } }));
      expectOk(await node.cnitool("del", n.network, other));
      expectOk(await node.cnitool("del", n.network, third));
      expect(await shapingLeftovers(node)).toEqual([]);
    });
  }

  it("ours: unshapedSubnets leaves traffic with the listed peer unshaped, both ways, and CHECK/DEL handle the htb", async () => {
    const bin = bandwidthBinDir("ours");
    bins.push(bin);
    const node = await sandbox.node({ impl: "ours", cniPath: [bin.dir] });
    const n = bwNames(node);
    node.writeConflist(bandwidthConflist(node, n));
    const [shaped, other, exempt] = [await node.addPod("a"), await node.addPod("b"), await node.addPod("c")];
    expectOk(await node.cnitool("add", n.network, other));
    expectOk(await node.cnitool("add", n.network, exempt));
    const [ipB, ipC] = [await podIp(node, other), await podIp(node, exempt)];
    const bw = {
      bandwidth: {
        ingressRate: RATE_BITS,
        ingressBurst: BURST_BITS,
        egressRate: RATE_BITS,
        egressBurst: BURST_BITS,
        unshapedSubnets: [`${ipC}/32`],
      },
    };
    expectOk(await node.cnitool("add", n.network, shaped, { capArgs: bw }));
    const ipA = await podIp(node, shaped);
    expectOk(await node.cnitool("check", n.network, shaped, { capArgs: bw }), "CHECK of the htb layout");

    const rates = {
      "b -> a (shaped)": await transfer(node, other, shaped, ipA),
      "a -> b (shaped)": await transfer(node, shaped, other, ipB),
      "c -> a (listed)": await transfer(node, exempt, shaped, ipA),
      "a -> c (listed)": await transfer(node, shaped, exempt, ipC),
    };
    measured.push(
      `ours with unshapedSubnets [c]: ${Object.entries(rates)
        .map(([k, v]) => `${k} ${(v / limit).toFixed(3)}x`)
        .join(", ")}`,
    );
    // htb lets a class borrow up to its ceiling (twice the rate, as upstream sets it).
    for (const k of ["b -> a (shaped)", "a -> b (shaped)"] as const) {
      expect(rates[k], k).toBeLessThanOrEqual(limit * 2 * 1.1);
      expect(rates[k], k).toBeGreaterThanOrEqual(limit * 0.5);
    }
    for (const k of ["c -> a (listed)", "a -> c (listed)"] as const) expect(rates[k], k).toBeGreaterThan(limit * 3);

    for (const pod of [shaped, other, exempt]) expectOk(await node.cnitool("del", n.network, pod, { capArgs: bw }));
    expect(await shapingLeftovers(node)).toEqual([]);
  });
});
