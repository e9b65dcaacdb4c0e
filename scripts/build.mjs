#!/usr/bin/env node
// Builds one self-contained multi-call executable with Bun's compiler and hard-links it under
// every plugin name in dist/bin. Usage: node scripts/build.mjs [--test-hooks] [--target=BUN_TARGET --outdir=DIR]
// (the release script builds each architecture with --target into its own --outdir).
import { execFileSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gitCommit } from "./lib/git-commit.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const testHooks = process.argv.includes("--test-hooks");
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
// x86-64: the baseline runtime (SSE4.2, no AVX), so a node from 2008 (Nehalem) runs it; README has the measurements.
const targetFlag = option("target") ? `--target=${option("target")}` : "--target=bun-linux-x64-baseline";
const target = targetFlag.split("=")[1];
const outDir = option("outdir") ?? join(root, testHooks ? "dist/test-bin" : "dist/bin");
const release = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const commit = gitCommit(root);
export const PLUGIN_NAMES = JSON.parse(readFileSync(join(root, "shared/plugin-names.json"), "utf8"));
const multi = join(outDir, "cni-ts");

mkdirSync(outDir, { recursive: true });
const tmp = `${multi}.tmp-${process.pid}`;
const args = [
  "build",
  "--compile",
  "--minify",
  "--bytecode",
  // One chunk per dynamic import, each loaded (with its bytecode) only when a call reaches it: a
  // call handed to the resident service loads the 1.4 kB entry and the client chunk instead of
  // the whole 233 kB bundle (scripts/bench: about 1 ms less per plugin process).
  "--format=esm",
  "--splitting",
  targetFlag,
  // A plugin runs with the runtime's working directory: never load .env or bunfig.toml (preload
  // scripts!) from it. Measured, not guessed (scripts/bench): these processes live ~10-60 ms, so
  // JIT tier-up only burns CPU (a 1000x tier-up threshold cut a portmap ADD from 23 to 15 CPU ms).
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--compile-jit-policy=1000",
  "--define",
  `process.env.CNI_TS_TEST_HOOKS=${JSON.stringify(testHooks ? "1" : "")}`,
  "--define",
  `process.env.CNI_TS_RELEASE=${JSON.stringify(release)}`,
  "--define",
  `process.env.CNI_TS_COMMIT=${JSON.stringify(commit)}`,
  "--define",
  `process.env.CNI_TS_TARGET=${JSON.stringify(target)}`,
  // The resident service runs only calls of its own build: two builds of one commit differ here.
  "--define",
  `process.env.CNI_TS_BUILD_ID=${JSON.stringify(`${commit}-${target}-${Date.now().toString(36)}`)}`,
  join(root, "shared/main.ts"),
  // The resident service's link-deleting thread (a Worker needs an entry point of its own).
  join(root, "shared/net/link-delete-worker.ts"),
  "--outfile",
  tmp,
];
const started = Date.now();
execFileSync(bun, args, { stdio: ["ignore", "ignore", "inherit"], cwd: root });
renameSync(tmp, multi);
for (const name of PLUGIN_NAMES) {
  const linkPath = join(outDir, name);
  if (existsSync(linkPath)) rmSync(linkPath);
  linkSync(multi, linkPath);
}
const mb = (statSync(multi).size / 1e6).toFixed(1);
console.log(
  `built ${multi} v${release} ${commit} ${target} (${mb} MB) in ${Date.now() - started} ms; hard links: ${PLUGIN_NAMES.join(", ")}`,
);
