/**
 * A CNI plugin that does nothing, compiled like dist/bin/cni-ts (noop-go/main.go is its Go twin):
 * ADD answers its prevResult (or an empty result), every other verb succeeds silently. Two of them
 * chained through libcni show what a two-plugin chain costs in each runtime before any work.
 */
import { readFileSync, writeSync } from "node:fs";

const conf = JSON.parse(readFileSync(0, "utf8") || "{}") as Record<string, unknown>;
const verb = process.env.CNI_COMMAND;
if (verb === "VERSION") {
  writeSync(1, '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}\n');
} else if (verb === "ADD") {
  const prev = (conf.prevResult as Record<string, unknown> | undefined) ?? { interfaces: [], ips: [], dns: {} };
  writeSync(1, `${JSON.stringify({ ...prev, cniVersion: conf.cniVersion })}\n`);
}
