/**
 * The `-batch -` semantics of iproute2's tools (ip, tc): what may be passed, which kernel answers
 * mean "already done", how the failed line and its reason are read from stderr, the JSON arrays
 * show commands print, and the one step runner (a tolerated failure skips to the next line).
 */
import { SystemError } from "../sys/system-error.js";
import { type RunOptions, type RunResult, run } from "./process.js";

/** Kernel answers that mean "already done" when adding / removing (ip's and Go's wordings alike). */
export const EXISTS = /File exists|already assigned|already exists/i;
export const GONE =
  /Cannot find device|does not exist|No such device|No such process|Cannot assign requested address|Address not found/i;

/**
 * ip's batch parser treats quotes, '#' (comment) and backslashes specially: a name carrying one
 * would silently change the command, e.g. "link del dev a#b" deletes "a". Such text is refused.
 */
export function assertBatchSafe(text: string): void {
  if (/["'#\\\n]/.test(text)) {
    throw new SystemError(
      `refusing to pass ${JSON.stringify(text)} to ip -batch: a name contains a quote, "#", backslash or newline`,
      "interface names and namespace paths must not contain quotes, #, backslashes or newlines",
      "environment",
    );
  }
}

/**
 * Runs `ip -batch -` with the given lines (one process; inside `netns` when given, see `run`).
 * With `json`, show commands print JSON arrays, one per line of output.
 */
export function ipBatch(
  lines: readonly string[],
  opts: RunOptions & { json?: boolean; force?: boolean; details?: boolean } = {},
): RunResult {
  for (const line of lines) assertBatchSafe(line);
  const args = ["ip"];
  if (opts.json) args.push("-j");
  if (opts.details) args.push("-d");
  if (opts.force) args.push("-force");
  args.push("-batch", "-");
  return run(args, { ...opts, input: `${lines.join("\n")}\n` });
}

/** The one parser of `ip -j` / `tc -j` batch output: the JSON arrays it prints, one per show line. */
export function parseJsonStream(text: string): unknown[][] {
  const out: unknown[][] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t.startsWith("[")) out.push(JSON.parse(t) as unknown[]);
  }
  return out;
}

/** The 0-based index of the line `ip -batch` reports as failed ("Command failed -:N"). */
export function failedLine(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? Number(m[1]) - 1 : undefined;
}

/** The kernel's message for the failed line (the stderr lines before "Command failed"). */
export function batchReason(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Command failed"));
  const text = lines.join("; ");
  // "RTNETLINK answers: File exists" is errno text: print it as Go does ("file exists").
  const errno = /^RTNETLINK answers: (.*)$/.exec(text);
  if (errno) return errno[1]!.charAt(0).toLowerCase() + errno[1]!.slice(1);
  return text.replace(/^Error: /, "");
}

/** One line of a batch: `tolerate` matches the failures that mean "already so"; `prints` marks a show line (one JSON array). */
export interface BatchLine {
  line: string;
  tolerate?: RegExp;
  prints?: boolean;
}

/**
 * A line the tool refused and its `tolerate` did not excuse. `index` is undefined when the tool
 * failed without naming a line of the batch; `reason` is the kernel's message (batchReason).
 */
export class BatchLineError extends Error {
  constructor(
    readonly index: number | undefined,
    readonly line: string | undefined,
    readonly reason: string,
    readonly status: number,
    readonly stderr: string,
  ) {
    super(`${line ? `${line}: ` : ""}${reason || `exit status ${status}`}`);
  }
}

export interface BatchOptions {
  netns?: string;
  what?: string;
  /**
   * When the tool fails without naming the line ("master X" naming no device): "fail" reports
   * it as such; "locate" finds the line (one line alone, or show lines counted by their output,
   * else the rest one line per process).
   */
  unnamed: "fail" | "locate";
}

/**
 * Runs `argv` (a `-batch -` tool) over the lines: one process when nothing fails; after a tolerated
 * failure the lines after it run again. Returns what the successful lines printed and which lines
 * were skipped as tolerated; throws BatchLineError for any other failure.
 */
export function runBatch(
  argv: readonly string[],
  lines: readonly BatchLine[],
  opts: BatchOptions,
): { stdout: string; skipped: Set<number> } {
  let start = 0;
  let stdout = "";
  let oneByOne = false;
  const skipped = new Set<number>();
  while (start < lines.length) {
    const part = lines.slice(start, oneByOne ? start + 1 : undefined);
    for (const l of part) assertBatchSafe(l.line);
    const r = run(argv, {
      netns: opts.netns,
      input: `${part.map((l) => l.line).join("\n")}\n`,
      check: false,
      what: opts.what,
    });
    if (r.status === 0) {
      stdout += r.stdout;
      start += part.length;
      continue;
    }
    let failed = failedLine(r.stderr);
    if (failed === undefined && opts.unnamed === "locate") {
      if (part.length === 1) failed = 0;
      else if (part.every((l) => l.prints)) failed = parseJsonStream(r.stdout).length;
      else {
        oneByOne = true;
        continue;
      }
    }
    const reason = batchReason(r.stderr);
    const line = failed === undefined ? undefined : part[failed];
    if (failed === undefined || line === undefined)
      throw new BatchLineError(undefined, undefined, reason, r.status, r.stderr);
    if (!line.tolerate?.test(reason)) throw new BatchLineError(start + failed, line.line, reason, r.status, r.stderr);
    stdout += r.stdout;
    skipped.add(start + failed);
    start += failed + 1;
  }
  return { stdout, skipped };
}
