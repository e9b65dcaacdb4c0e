/**
 * `cni-ts doctor [--json] [path flags]`: the node's CNI state at a glance — plugin directory,
 * configurations, flannel, leaked and stale state, kernel settings — each finding with a severity
 * and the command that fixes it. Changes nothing. Exit status 1 when any finding is an error.
 */
import { writeAll } from "../sys/write-all.js";
import { checkConfigs } from "../node/doctor/config-check.js";
import type { Finding } from "../node/doctor/finding.js";
import { checkFlannel, clusterNetworks } from "../node/doctor/flannel-check.js";
import { checkKernel } from "../node/doctor/kernel-check.js";
import { checkPlugins } from "../node/doctor/plugins-check.js";
import { checkResident } from "../node/doctor/resident-check.js";
import { checkState } from "../node/doctor/state-check.js";
import { DEFAULT_SOCKET, residentSocket } from "../resident/protocol.js";
import { planGc } from "../node/gc-plan.js";
import { containerRules } from "../node/nat-rules.js";
import { scanHolders } from "../node/netns-scan.js";
import { loadNodeConfig } from "../node/node-config.js";
import { BUILD, buildDescription } from "../build-info.js";
import type { NodeCommand } from "./index.js";
import { PATH_FLAGS_HELP, UsageError, parseNodeFlags } from "./node-flags.js";

const HELP = `usage: cni-ts doctor [--json] [--socket PATH] [path flags]
Reports, for the node whose network namespace it runs in, each problem CNI has there with its
severity and the command that fixes it: the plugin directory, the network configurations, flannel
(subnet.env, the bridge, flannel.1), leaked reservations and stale state, kernel settings, the
resident service. Changes nothing. Exits 1 when something is broken (an error), 0 otherwise.
  --json            one JSON object: {"release", "commit", "paths", "findings": [{area, severity, message, fix}], "errors", "warnings"}
  --socket PATH     the resident service's socket (default: CNI_TS_SOCKET, else ${DEFAULT_SOCKET})
${PATH_FLAGS_HELP}
`;

const LABEL = { error: "ERROR", warning: "WARN ", info: "ok   " } as const;

export function diagnose(paths: Parameters<typeof loadNodeConfig>[0]): Finding[] {
  const config = loadNodeConfig(paths);
  // Rules before the store (planGc reads it): a rule made after the snapshot has a reservation.
  const rules = containerRules();
  const plan = planGc(config, scanHolders(), undefined, undefined, rules);
  const hostPorts = rules.some((r) => r.kind === "hostPort");
  return [
    ...checkPlugins(config),
    ...checkConfigs(config),
    ...checkFlannel(config, hostPorts),
    ...checkState(config, plan, rules),
    ...checkKernel(clusterNetworks(config)),
  ];
}

export function formatFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${LABEL[f.severity]} ${f.area.padEnd(7)} ${f.message}`);
    if (f.fix && f.severity !== "info") lines.push(`${" ".repeat(14)}fix: ${f.fix}`);
  }
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  lines.push(
    errors + warnings === 0
      ? "healthy: no errors, no warnings"
      : `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`,
  );
  return `${lines.join("\n")}\n`;
}

async function run(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseNodeFlags(args, { json: { type: "boolean" }, socket: { type: "string" } });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAll(2, `cni-ts doctor: ${e.message}\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    writeAll(1, HELP);
    return 0;
  }
  const socket = flags.values.socket ?? residentSocket(process.env);
  const findings = [...diagnose(flags.paths), ...(socket ? await checkResident(socket) : [])];
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  if (flags.values.json) {
    writeAll(
      1,
      `${JSON.stringify({ release: BUILD.release, commit: BUILD.commit, paths: flags.paths, findings, errors, warnings }, null, 2)}\n`,
    );
  } else {
    writeAll(
      1,
      `cni-ts doctor ${buildDescription()}: conf ${flags.paths.confDir}, plugins ${flags.paths.binDir}, cache ${flags.paths.cacheDir}\n`,
    );
    writeAll(1, formatFindings(findings));
  }
  return errors > 0 ? 1 : 0;
}

export const command: NodeCommand = { summary: "report the node's CNI problems with the commands that fix them", run };
