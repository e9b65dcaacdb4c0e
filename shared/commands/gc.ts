/**
 * `cni-ts gc [--apply] [--network NAME] [--grace SECONDS] [path flags]`: finds the reservations
 * no network namespace on this node holds (shared/node/gc-plan.ts) and, with --apply, releases
 * each one with everything a DEL of its attachment would have removed. Dry run by default.
 * Exit status: 0 done (or nothing to do), 1 something could not be released or the scan was
 * incomplete, 2 bad usage.
 */
import { writeAll } from "../sys/write-all.js";
import { DEFAULT_GRACE_MS } from "../../ipam/host-local/leaks.js";
import {
  type ApplyStep,
  type GcPlan,
  type LeakedAttachment,
  type Leftover,
  applyItem,
  planGc,
} from "../node/gc-plan.js";
import { containerRules } from "../node/nat-rules.js";
import { scanHolders } from "../node/netns-scan.js";
import { loadNodeConfig, storeDirOf } from "../node/node-config.js";
import type { NodeCommand } from "./index.js";
import { PATH_FLAGS_HELP, UsageError, parseNodeFlags } from "./node-flags.js";

const HELP = `usage: cni-ts gc [--apply] [--network NAME] [--grace SECONDS] [path flags]
Lists the address reservations that no network namespace on this node holds and that are older
than the grace period (default ${DEFAULT_GRACE_MS / 1000} s), and the leftovers of attachments that hold
no reservation. With --apply, releases each one as a DEL of its attachment would have: the
reservation, the plugins' state and rules (their DEL is run from --bin-dir), libcni's cached result.
Run it in the node's network namespace.
  --apply           release (default: dry run, nothing changes)
  --network NAME    only this network
  --grace SECONDS   minimum age of a reservation to count as leaked
${PATH_FLAGS_HELP}
`;

function out(line: string): void {
  writeAll(1, `${line}\n`);
}

function owner(item: LeakedAttachment | Leftover): string {
  if (!item.owner) return "no owner (empty or unreadable file)";
  return item.owner.ifname === undefined
    ? `${item.owner.containerId} (legacy file)`
    : `${item.owner.containerId}/${item.owner.ifname}`;
}

function alsoOwned(item: LeakedAttachment | Leftover): string[] {
  const parts: string[] = [];
  if (item.savedConfig) parts.push(`flannel config ${item.savedConfig}`);
  if (item.cached) parts.push(`cached result ${item.cached.file}`);
  if (item.kind === "leftover" && item.rules) parts.push(`${item.rules.join(" and ")} rules`);
  if (item.kind === "leaked")
    for (const c of item.companions) parts.push(`its network ${c.network.name} (cached result ${c.cached.file})`);
  if (item.owner)
    parts.push(
      `the DEL of ${[...item.network.plugins]
        .reverse()
        .map((p) => p.type)
        .join(", ")}`,
    );
  return parts;
}

function describe(item: LeakedAttachment | Leftover, plan: GcPlan): string {
  if (item.kind === "leaked") {
    const addrs = item.reservations.map((r) => r.address).join(" ");
    const age = Math.min(...item.reservations.map((r) => plan.scan.startedAt - r.mtimeMs));
    return (
      `${addrs} of network ${item.network.name}: ${owner(item)}, reserved ${Math.round(age / 1000)} s ago, ` +
      `in none of the ${plan.scan.namespaces} network namespaces on this node; with it: ${alsoOwned(item).join(", ") || "nothing else"}`
    );
  }
  const age = Number.isFinite(item.ageMs) ? `, ${Math.round(item.ageMs / 1000)} s old` : "";
  return `leftovers of ${owner(item)} in network ${item.network.name} (no reservation${age}): ${alsoOwned(item).join(", ")}`;
}

function report(step: ApplyStep, plan: GcPlan): boolean {
  const what = describe(step.item, plan);
  if (step.skipped) {
    out(`kept ${what}: ${step.skipped}${step.del ? ` (${step.del.steps.join("; ")})` : ""}`);
    return step.skipped.startsWith("changed");
  }
  const done = [...(step.del?.steps ?? []), ...(step.cacheRemoved ? ["cached result removed"] : [])];
  out(`released ${what}${done.length ? ` (${done.join("; ")})` : ""}`);
  return true;
}

async function run(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseNodeFlags(args, {
      apply: { type: "boolean" },
      network: { type: "string" },
      grace: { type: "string" },
    });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAll(2, `cni-ts gc: ${e.message}\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    writeAll(1, HELP);
    return 0;
  }
  const grace = flags.values.grace === undefined ? DEFAULT_GRACE_MS / 1000 : Number(flags.values.grace);
  if (!Number.isFinite(grace) || grace < 0) {
    writeAll(2, `cni-ts gc: --grace wants a number of seconds, got ${JSON.stringify(flags.values.grace)}\n`);
    return 2;
  }
  const config = loadNodeConfig(flags.paths);
  for (const p of config.problems) out(`skipped ${p.file}: ${p.problem}`);
  if (!config.networks.some((n) => storeDirOf(n) !== undefined)) {
    out(`no network in ${flags.paths.confDir} keeps host-local reservations: nothing to do`);
    return 0;
  }
  const scan = scanHolders();
  const plan = planGc(config, scan, grace * 1000, flags.values.network, containerRules());
  if (flags.values.network !== undefined && plan.networks.length === 0) {
    writeAll(
      2,
      `cni-ts gc: no network ${JSON.stringify(flags.values.network)} with a host-local store in ${flags.paths.confDir}\n`,
    );
    return 2;
  }
  for (const n of plan.networks) {
    out(
      `network ${n.network.name} (${n.network.file}), store ${n.storeDir}: ${n.reservations} reservations, ` +
        `${n.held} in use, ${n.young} younger than ${grace} s, ${n.leaked} leaked`,
    );
  }
  if (scan.failures.length > 0) {
    for (const f of scan.failures) out(`scan incomplete: ${f}`);
    out("nothing is released while a network namespace cannot be read: fix that (or wait for it to go) and run again");
    return 1;
  }
  const items = [...plan.leaked, ...plan.leftovers];
  if (!flags.values.apply) {
    for (const item of items) out(`would release ${describe(item, plan)}`);
    out(
      items.length === 0
        ? "nothing to release"
        : `dry run: nothing changed; run again with --apply to release ${items.length}`,
    );
    return 0;
  }
  let ok = true;
  for (const item of items) ok = report(applyItem(item, plan, flags.paths.binDir), plan) && ok;
  out(
    items.length === 0
      ? "nothing to release"
      : ok
        ? `released ${items.length}`
        : "some could not be released: see above, then run again",
  );
  return ok ? 0 : 1;
}

export const command: NodeCommand = { summary: "release leaked address reservations (dry run unless --apply)", run };
