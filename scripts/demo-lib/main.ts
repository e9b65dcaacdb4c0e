/**
 * scripts/demo: a two-node flannel cluster in network namespaces, pods attached by our plugins
 * through libcni, connectivity shown and everything removed again (unless --keep).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createCluster, teardownCluster } from "../../conformance-tests/lib/cluster/cluster.js";
import { Interrupted, abortAll, isAborted } from "../../conformance-tests/lib/run-command.js";
import { type ClusterState, loadState } from "../../conformance-tests/lib/cluster/state.js";
import { ensureCnitool } from "../../conformance-tests/lib/cnitool-build.js";
import { OURS_BIN, REFERENCE_BIN, REPO_ROOT } from "../../conformance-tests/lib/paths.js";
import { type DemoOptions, USAGE, parseOptions } from "./options.js";
import { type Run, addPods, checkConnectivity, deleteAllPods, printKeepHelp, printSummary } from "./steps.js";
import { Clock, ms } from "./table.js";

let teardownFailed = false;

async function main(argv: string[]): Promise<number> {
  let opts: DemoOptions;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`scripts/demo: ${(e as Error).message}\n(scripts/demo --help shows the options)\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.teardown) return teardownKept(opts.teardown);

  const clock = new Clock();
  const log = (line: string) => process.stdout.write(`${clock.stamp()} ${line}\n`);
  let interrupts = 0;
  const onSignal = (sig: string) => {
    interrupts++;
    abortAll();
    process.stderr.write(
      interrupts === 1
        ? `\n${sig}: stopping and removing what this run created…\n`
        : `${sig}: teardown is running, please wait\n`,
    );
  };
  // A closed pipe (`scripts/demo | head`) must not kill the run before its teardown.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGHUP", () => onSignal("SIGHUP"));

  const pluginDir = opts.plugins ?? (opts.reference ? REFERENCE_BIN : OURS_BIN);
  printHeader(opts, pluginDir);
  let state: ClusterState | undefined;
  let keep = false;
  try {
    const cnitool = await ensureCnitool();
    state = await createCluster({
      backend: opts.backend,
      clusterCidr: opts.clusterCidr,
      pluginDir,
      cnitool,
      flavor: opts.reference ? "rendered-delegate" : opts.flavour,
      nodes: opts.nodes,
      ...(opts.plugins || opts.reference ? {} : { installer: join(REPO_ROOT, "scripts", "install.sh") }),
      onStep: log,
    });
    log(`cluster ${state.id} is up (sandbox ${state.baseDir})`);
    const run: Run = { state, log, clock, addTimes: [], delTimes: [] };
    await addPods(run, opts.pods);
    const connectivity = await checkConnectivity(run);
    await printSummary(run, connectivity);
    const allOk = connectivity.every((c) => c.ok);
    if (opts.keep) {
      keep = true;
      printKeepHelp(state);
      return allOk ? 0 : 1;
    }
    const clean = await deleteAllPods(run);
    return allOk && clean ? 0 : 1;
  } catch (e) {
    if (e instanceof Interrupted || isAborted()) return 130;
    process.stderr.write(`\nscripts/demo failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (state && !(keep && !isAborted())) {
      const t = clock.elapsed();
      const problems = await teardownCluster(state);
      if (problems.length) teardownFailed = true;
      for (const p of problems) process.stderr.write(`teardown: ${p}\n`);
      log(
        problems.length === 0
          ? `teardown: removed ${state.nodes.length} node namespaces, the pods' namespaces and ${state.baseDir} in ${ms(clock.elapsed() - t)}; nothing left behind`
          : "teardown finished with problems (above)",
      );
    }
  }
}

function printHeader(opts: DemoOptions, pluginDir: string): void {
  const exe = join(pluginDir, "bridge");
  const built = existsSync(exe)
    ? `built ${statSync(exe)
        .mtime.toISOString()
        .replace(/\.\d+Z$/, "Z")}`
    : "missing!";
  process.stdout.write(
    `cni-ts demo: ${opts.nodes} flannel nodes in network namespaces (${opts.reference ? "rendered delegate" : `${opts.flavour} conflist`}), backend ${opts.backend}, cluster CIDR ${opts.clusterCidr}, ` +
      `${opts.pods} pod${opts.pods === 1 ? "" : "s"} per node\nplugins: ${pluginDir} (${built}); runtime side: libcni 1.1.2 (conformance-tests/cnitool)\n\n`,
  );
}

async function teardownKept(id: string): Promise<number> {
  let state: ClusterState;
  try {
    state = loadState(id);
  } catch (e) {
    process.stderr.write(`scripts/demo --teardown: ${(e as Error).message}\n`);
    return 1;
  }
  const pods = state.pods.length;
  const problems = await teardownCluster(state);
  for (const p of problems) process.stderr.write(`teardown: ${p}\n`);
  if (problems.length) return 1;
  process.stdout.write(`cluster ${id} removed (${pods} pods deleted through libcni, ${state.nodes.length} nodes)\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = teardownFailed && code === 0 ? 1 : code;
  },
  (e: unknown) => {
    process.stderr.write(`scripts/demo: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
