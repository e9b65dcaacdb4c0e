/**
 * A strict parser of Prometheus' text exposition format (0.0.4), written from the format's
 * description, to check what `cni-ts metrics` prints: metric and label names by their grammar,
 * label values with only the three escapes (\\ \" \n), float values (NaN, ±Inf), optional integer
 * timestamps, HELP/TYPE at most once per family and before its samples, a family's samples
 * together, no duplicate series, a final newline. Throws on the first violation with its line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help?: string;
  type?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES = ["_bucket", "_sum", "_count", "_total", "_created"];

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

function parseValue(text: string, lineNo: number, line: string): number {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) fail(lineNo, line, `bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at `i` (the "{"); returns the labels and the index after "}". */
function parseLabels(line: string, start: number, lineNo: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (line[i] === "}") return { labels, end: i + 1 };
    const eq = line.indexOf("=", i);
    if (eq < 0) fail(lineNo, line, "label without '='");
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith("__")) fail(lineNo, line, `bad label name ${JSON.stringify(name)}`);
    if (name in labels) fail(lineNo, line, `duplicate label ${name}`);
    if (line[eq + 1] !== '"') fail(lineNo, line, "label value must be quoted");
    let value = "";
    let j = eq + 2;
    for (; ; j++) {
      const c = line[j];
      if (c === undefined) fail(lineNo, line, "unterminated label value");
      if (c === '"') break;
      if (c === "\\") {
        const e = line[++j];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else fail(lineNo, line, `bad escape \\${e ?? ""}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") fail(lineNo, line, "expected ',' or '}' after a label");
  }
}

function familyOf(sample: string, families: ReadonlyMap<string, Family>): string {
  if (families.has(sample)) return sample;
  for (const s of SUFFIXES)
    if (sample.endsWith(s) && families.has(sample.slice(0, -s.length))) return sample.slice(0, -s.length);
  return sample;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  text
    .split("\n")
    .slice(0, -1)
    .forEach((line, idx) => {
      const lineNo = idx + 1;
      if (line.trim() === "") return;
      if (line.startsWith("#")) {
        const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
        if (!m) return; // an ordinary comment
        const [, kind, name, rest = ""] = m;
        if (!METRIC_NAME.test(name!)) fail(lineNo, line, "bad metric name");
        if (closed.has(name!) || (current !== undefined && current !== name && families.get(name!)?.samples.length))
          fail(lineNo, line, `${kind} after the samples of ${name}`);
        const f = family(name!);
        if (kind === "HELP") {
          if (f.help !== undefined) fail(lineNo, line, "second HELP");
          if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) fail(lineNo, line, "bad escape in HELP");
          f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
        } else {
          if (f.type !== undefined) fail(lineNo, line, "second TYPE");
          if (f.samples.length > 0) fail(lineNo, line, "TYPE after samples");
          if (!TYPES.has(rest)) fail(lineNo, line, `unknown type ${JSON.stringify(rest)}`);
          f.type = rest;
        }
        return;
      }
      const nameEnd = line.search(/[{ ]/);
      if (nameEnd <= 0) fail(lineNo, line, "sample without a value");
      const name = line.slice(0, nameEnd);
      if (!METRIC_NAME.test(name)) fail(lineNo, line, "bad metric name");
      let labels: Record<string, string> = {};
      let i = nameEnd;
      if (line[i] === "{") ({ labels, end: i } = parseLabels(line, i, lineNo));
      if (line[i] !== " ") fail(lineNo, line, "expected a space before the value");
      const fields = line.slice(i + 1).split(" ");
      if (fields.length < 1 || fields.length > 2 || fields[0] === "") fail(lineNo, line, "expected value [timestamp]");
      const value = parseValue(fields[0]!, lineNo, line);
      if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) fail(lineNo, line, "bad timestamp");
      const fam = familyOf(name, families);
      if (current !== undefined && current !== fam) closed.add(current);
      if (closed.has(fam)) fail(lineNo, line, `samples of ${fam} are not together`);
      current = fam;
      const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (series.has(id)) fail(lineNo, line, "duplicate series");
      series.add(id);
      family(fam).samples.push({ name, labels, value });
    });
  return families;
}
