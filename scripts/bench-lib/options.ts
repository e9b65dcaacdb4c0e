/** Command line of scripts/bench. */
export interface BenchOptions {
  quick: boolean;
  /** Measured sequential rounds (each: VERSION, ADD, CHECK, DEL per chain and side). */
  rounds: number;
  warmup: number;
  /** Concurrency levels and how many repetitions of each. */
  concurrency: number[];
  concurrencyReps: Record<number, number>;
  memoryReps: number;
  coldReps: number;
  coldAdd: boolean;
  traceReps: number;
  /** Probe runs for the per-module start-up cost (0 = skip). */
  importRuns: number;
  /** Print the trace breakdown of one of our ADDs. */
  trace: boolean;
  json?: string;
  markdown?: string;
  /** The chart (SVG); defaults to the Markdown file's name with .svg. */
  svg?: string;
  /** SCHED_FIFO priority for every measured process (--rt). */
  realtime?: number;
  /** Measure the third side, ours served by the resident service (`cni-ts serve`). */
  resident: boolean;
  command: string;
}

export const USAGE = `usage: scripts/bench [--quick] [--rounds N] [--concurrency 20,100] [--no-cold] [--trace] [--rt]
                    [--no-imports] [--no-resident] [--json FILE] [--markdown FILE] [--svg FILE]
Runs the Go reference plugins (/usr/lib/cni), ours (dist/bin) and ours served by the resident
service (cni-ts serve) side by side through the libcni client, in sandboxed node namespaces, and
prints median/p95 per verb, concurrent ADD/DEL wall times, peak memory, cold start and
ours/reference ratios.
  --quick           CI smoke run: few rounds, 20 concurrent only, one cold start (< 60 s)
  --rounds N        measured sequential rounds (default 40; --quick 3)
  --concurrency L   comma-separated concurrency levels (default 20,100)
  --no-cold         skip the cold-start runs (they drop the machine's page cache)
  --trace           print where one of our ADDs spends its time (from the debug trace)
  --no-imports      skip the per-module start-up cost probe
  --no-resident     skip the resident side (cni-ts serve in its own sandbox node)
  --rt              run every measured process under SCHED_FIFO (chrt -f 10), so other load on a
                    shared machine does not distort the wall times (both sides alike)
  --json FILE       write the machine-readable results
  --markdown FILE   write the results as a Markdown report (docs/bench-latest.md)
  --svg FILE        write the chart of the side-by-side medians (default: the Markdown file with .svg)`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes("--quick");
  const opts: BenchOptions = {
    quick,
    rounds: quick ? 3 : 40,
    warmup: quick ? 1 : 3,
    concurrency: quick ? [20] : [20, 100],
    concurrencyReps: quick ? { 20: 1 } : { 20: 5, 100: 2 },
    memoryReps: quick ? 1 : 3,
    coldReps: quick ? 1 : 3,
    coldAdd: !quick,
    traceReps: quick ? 1 : 5,
    importRuns: quick ? 5 : 21,
    trace: false,
    resident: true,
    command: ["scripts/bench", ...argv].join(" "),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--quick":
        break;
      case "--rounds":
        opts.rounds = positive(a, value());
        break;
      case "--concurrency":
        opts.concurrency = value()
          .split(",")
          .map((v) => positive(a, v));
        for (const n of opts.concurrency) opts.concurrencyReps[n] ??= quick ? 1 : n >= 100 ? 2 : 5;
        break;
      case "--no-cold":
        opts.coldReps = 0;
        opts.coldAdd = false;
        break;
      case "--trace":
        opts.trace = true;
        break;
      case "--rt":
        opts.realtime = 10;
        break;
      case "--no-resident":
        opts.resident = false;
        break;
      case "--no-imports":
        opts.importRuns = 0;
        break;
      case "--json":
        opts.json = value();
        break;
      case "--markdown":
        opts.markdown = value();
        break;
      case "--svg":
        opts.svg = value();
        break;
      case "-h":
      case "--help":
        throw new UsageError("");
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  return opts;
}

export class UsageError extends Error {}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a positive integer`);
  return n;
}
