/**
 * A scriptable test double for a CNI plugin (the idea of libcni's "noop" plugin): an executable
 * Node script that records every call (CNI_* and trace-context environment, stdin) and answers as told. Put its
 * directory first on a node's cniPath to stand in for a delegate (e.g. a fake IPAM).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface FakeBehaviour {
  /**
   * What ADD prints: a result object, "passthrough" (prevResult, or {cniVersion} when there is
   * none). Default "passthrough".
   */
  addResult?: Record<string, unknown> | "passthrough";
  /** Fail every verb in this list with this CNI error (exit 1, error JSON on stdout). */
  fail?: { verbs: string[]; code: number; msg: string; details?: string };
  /** Supported versions for VERSION (default 0.3.1 … 1.1.0). */
  versions?: string[];
}

export interface RecordedCall {
  env: Record<string, string>;
  stdin: string;
  /** stdin parsed, when it is JSON. */
  conf: Record<string, unknown> | undefined;
}

const PROGRAM = String.raw`#!/usr/bin/env node
"use strict";
const fs = require("node:fs");
const behaviour = JSON.parse(fs.readFileSync(__filename + ".json", "utf8"));
const stdin = fs.readFileSync(0, "utf8");
const env = {};
for (const [k, v] of Object.entries(process.env)) if (k.startsWith("CNI_") || k === "TRACEPARENT" || k === "TRACESTATE") env[k] = v;
fs.appendFileSync(__filename + ".calls.jsonl", JSON.stringify({ env, stdin }) + "\n");
let conf = {};
try { conf = JSON.parse(stdin); } catch {}
const verb = process.env.CNI_COMMAND;
const version = conf.cniVersion || "0.1.0";
if (behaviour.fail && behaviour.fail.verbs.includes(verb)) {
  const { code, msg, details } = behaviour.fail;
  process.stdout.write(JSON.stringify({ cniVersion: version, code, msg, ...(details ? { details } : {}) }));
  process.exit(1);
}
if (verb === "VERSION") {
  process.stdout.write(JSON.stringify({ cniVersion: version, supportedVersions: behaviour.versions }));
} else if (verb === "ADD") {
  const r = behaviour.addResult === "passthrough" ? (conf.prevResult || { cniVersion: version }) : behaviour.addResult;
  process.stdout.write(JSON.stringify({ ...r, cniVersion: version }));
}
`;

/** Writes `<dir>/<name>` (executable) and its behaviour file; returns the plugin path. */
export function writeFakePlugin(dir: string, name: string, behaviour: FakeBehaviour = {}): string {
  const file = join(dir, name);
  const full = { addResult: "passthrough", versions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"], ...behaviour };
  writeFileSync(`${file}.json`, JSON.stringify(full));
  writeFileSync(file, PROGRAM);
  chmodSync(file, 0o755);
  return file;
}

/** Every call the fake plugin at `file` received, oldest first. */
export function fakePluginCalls(file: string): RecordedCall[] {
  const log = `${file}.calls.jsonl`;
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const { env, stdin } = JSON.parse(l) as { env: Record<string, string>; stdin: string };
      let conf: Record<string, unknown> | undefined;
      try {
        conf = JSON.parse(stdin) as Record<string, unknown>;
      } catch {
        conf = undefined;
      }
      return { env, stdin, conf };
    });
}
