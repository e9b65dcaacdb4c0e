/**
 * What each module costs at start-up: every module reachable from shared/main.ts's plugins is
 * imported in dependency order (dependencies first) by a probe compiled exactly like
 * dist/bin/cni-ts, which records the process's CPU time (user + system) after each import. The
 * difference is that module's own cost (its top-level code, schemas it builds, builtins it pulls
 * in). CPU time rather than wall time, so other load on the machine barely moves the figures.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "../../conformance-tests/lib/paths.js";
import { median } from "./stats.js";
import { BUILD_FLAGS } from "./timer.js";

const ROOTS = [
  "plugins/bridge/index.ts",
  "ipam/host-local/index.ts",
  "plugins/flannel/index.ts",
  "plugins/loopback/index.ts",
  "plugins/portmap/index.ts",
  "plugins/bandwidth/index.ts",
];
const FIRST = ["shared/cni/dispatch.ts", "shared/cni/delegate.ts"];

/** Value imports of a module (type-only imports cost nothing at run time). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  const re = /^\s*import\s+(type\s+)?([^"';]*?)\s*(?:from\s+)?["']([^"']+)["']/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1]) continue;
    const spec = m[3]!;
    if (/^\{?\s*type\s/.test(m[2] ?? "") && !/,\s*(?!type\s)\w/.test(m[2] ?? "")) continue;
    if (spec.startsWith(".")) out.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    else out.push(spec);
  }
  return out;
}

/** Modules in dependency order (post-order DFS), external packages and builtins included. */
export function importOrder(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const order: string[] = [];
  const visit = (m: string): void => {
    if (seen.has(m)) return;
    seen.add(m);
    if (m.startsWith("/")) {
      if (!existsSync(m)) return;
      for (const dep of importsOf(m)) visit(dep);
    }
    order.push(m);
  };
  for (const r of roots) visit(r);
  return order;
}

export interface ImportCost {
  module: string;
  cpuMs: number;
}

export function measureImportCosts(
  runs: number,
  roots: readonly string[] = ROOTS,
): { startupCpuMs: number; costs: ImportCost[] } {
  const order = importOrder([...FIRST, ...roots].map((r) => join(REPO_ROOT, r)));
  const dir = join(REPO_ROOT, ".tmp", "import-cost");
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, "probe.ts");
  const lines = [
    "const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };",
    "async function main() {",
    "  const t = [cpu()];",
    ...order.map((m) => `  await import(${JSON.stringify(m)}); t.push(cpu());`),
    '  process.stdout.write(JSON.stringify(t) + "\\n");',
    "}",
    "void main();",
  ];
  writeFileSync(entry, `${lines.join("\n")}\n`);
  const probe = join(dir, "probe");
  const bun = join(REPO_ROOT, "node_modules", ".bin", "bun");
  execFileSync(bun, ["build", ...BUILD_FLAGS, entry, "--outfile", probe], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: REPO_ROOT,
  });
  const samples: number[][] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(
      JSON.parse(
        execFileSync(probe, [], { encoding: "utf8", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } }),
      ) as number[],
    );
  }
  rmSync(dir, { recursive: true, force: true });
  const col = (i: number): number => median(samples.map((s) => s[i]!))!;
  const costs = order.map((m, i) => ({
    module: m.startsWith("/") ? relative(REPO_ROOT, m) : m,
    cpuMs: median(samples.map((s) => s[i + 1]! - s[i]!))!,
  }));
  return { startupCpuMs: col(0), costs };
}

export function formatImportCosts(r: { startupCpuMs: number; costs: ImportCost[] }, top = 25): string {
  const total = r.costs.reduce((s, c) => s + c.cpuMs, 0);
  const lines = [
    `Start-up cost per module, CPU ms (median; each module's own top-level code, dependencies loaded first)`,
    `  runtime before our first line: ${r.startupCpuMs.toFixed(2)} ms; all ${r.costs.length} modules: ${total.toFixed(2)} ms`,
  ];
  for (const c of [...r.costs].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, top)) {
    lines.push(`  ${c.cpuMs.toFixed(2).padStart(7)}  ${c.module}`);
  }
  return lines.join("\n");
}
