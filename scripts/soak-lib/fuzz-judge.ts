import type { FuzzCase } from "./fuzz-cases.js";

/**
 * What every bad input must produce: exit status 1, one CNI error JSON on stdout with an
 * acceptable code and a message, no stack trace, no secret, no unexpected (non-CniError) failure.
 * Problems starting with "crash" count as crashes in the figures.
 */
export function judgeOutcome(
  c: FuzzCase,
  out: { status: number; stdout: string; stderr: string },
  secret: string,
): string[] {
  const problems: string[] = [];
  if (out.status < 0) problems.push(`crash: no exit status (${out.stderr.split("\n").pop()})`);
  else if (out.status !== 1) problems.push(`exit status ${out.status}, expected 1`);
  if (/unexpected error|runPlugin threw|\bat .+:\d+:\d+\)?$/m.test(out.stderr)) {
    problems.push(`crash: a non-CNI exception escaped to the top (${firstLine(out.stderr)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.stdout);
  } catch {
    problems.push(`stdout is not JSON: ${JSON.stringify(out.stdout.slice(0, 120))}`);
  }
  if (parsed !== undefined) {
    const e = parsed as { cniVersion?: unknown; code?: unknown; msg?: unknown };
    if (typeof e !== "object" || e === null) problems.push("stdout is not a JSON object");
    else {
      if (typeof e.code !== "number") problems.push("error JSON has no numeric code");
      else if (!c.codes.includes(e.code))
        problems.push(`code ${e.code} (${String(e.msg)}), expected one of ${c.codes.join("/")}`);
      if (typeof e.msg !== "string" || e.msg === "") problems.push("error JSON has no msg");
      if (typeof e.cniVersion !== "string") problems.push("error JSON has no cniVersion");
    }
  }
  if (/\n\s+at\s/.test(out.stdout)) problems.push("stack trace on stdout");
  if (secret && (out.stdout.includes(secret) || out.stderr.includes(secret)))
    problems.push("the secret file's content was echoed");
  return problems;
}

function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.slice(0, 200) ?? ""
  );
}
