/**
 * Structural diff of two normalised observations, and the allow-list through which a test states
 * where ours deliberately differs from the reference (each entry carries its reason).
 */
export interface Difference {
  /** Dotted path, e.g. "add.state.node.links.cb<token>.mtu" or "add.state.node.routes[+]". */
  path: string;
  reference: unknown;
  ours: unknown;
}

export interface Allowance {
  /** Exact path, or a RegExp tested against the path. */
  path: string | RegExp;
  /** Why we differ on purpose (printed in reports; required so no entry is unexplained). */
  reason: string;
}

/**
 * Deep diff. Objects are compared key by key; arrays of primitives as multisets (order-free:
 * "[-]" = only the reference has the element, "[+]" = only ours); other arrays index by index.
 */
export function diff(reference: unknown, ours: unknown, path = ""): Difference[] {
  if (Object.is(reference, ours)) return [];
  if (Array.isArray(reference) && Array.isArray(ours)) {
    if (reference.every(isPrimitive) && ours.every(isPrimitive)) return multisetDiff(reference, ours, path);
    const out: Difference[] = [];
    const n = Math.max(reference.length, ours.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= reference.length) out.push({ path: p, reference: undefined, ours: ours[i] });
      else if (i >= ours.length) out.push({ path: p, reference: reference[i], ours: undefined });
      else out.push(...diff(reference[i], ours[i], p));
    }
    return out;
  }
  if (isPlainObject(reference) && isPlainObject(ours)) {
    const out: Difference[] = [];
    const keys = [...new Set([...Object.keys(reference), ...Object.keys(ours)])].sort();
    for (const k of keys) out.push(...diff(reference[k], ours[k], path ? `${path}.${k}` : k));
    return out;
  }
  return [{ path, reference, ours }];
}

function multisetDiff(reference: unknown[], ours: unknown[], path: string): Difference[] {
  const remaining = [...ours];
  const out: Difference[] = [];
  for (const r of reference) {
    const i = remaining.findIndex((o) => Object.is(o, r));
    if (i >= 0) remaining.splice(i, 1);
    else out.push({ path: `${path}[-]`, reference: r, ours: undefined });
  }
  for (const o of remaining) out.push({ path: `${path}[+]`, reference: undefined, ours: o });
  return out;
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== "object" && typeof v !== "function");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface Verdict {
  /** Differences no allowance covers: each one fails the test. */
  unexplained: Difference[];
  /** Differences covered by an allowance, with its reason. */
  allowed: { difference: Difference; reason: string }[];
  /** Allowances that matched nothing: stale entries that would hide a future regression. */
  unused: Allowance[];
}

export function judge(differences: readonly Difference[], allowances: readonly Allowance[]): Verdict {
  const used = new Set<Allowance>();
  const verdict: Verdict = { unexplained: [], allowed: [], unused: [] };
  for (const d of differences) {
    const a = allowances.find((x) => (typeof x.path === "string" ? x.path === d.path : x.path.test(d.path)));
    if (a) {
      used.add(a);
      verdict.allowed.push({ difference: d, reason: a.reason });
    } else {
      verdict.unexplained.push(d);
    }
  }
  verdict.unused = allowances.filter((a) => !used.has(a));
  return verdict;
}

export function formatDifference(d: Difference): string {
  return `${d.path}\n    reference: ${show(d.reference)}\n    ours:      ${show(d.ours)}`;
}

export function formatVerdict(v: Verdict): string {
  const lines: string[] = [];
  if (v.unexplained.length > 0) {
    lines.push(`${v.unexplained.length} difference(s) from the reference plugins:`);
    for (const d of v.unexplained) lines.push(`  ${formatDifference(d)}`);
  }
  if (v.unused.length > 0) {
    lines.push(`${v.unused.length} allow-list entr(ies) matched nothing (remove them or fix the path):`);
    for (const a of v.unused) lines.push(`  ${String(a.path)} — ${a.reason}`);
  }
  if (v.allowed.length > 0) {
    lines.push(`${v.allowed.length} deliberate difference(s):`);
    for (const { difference, reason } of v.allowed) lines.push(`  ${difference.path}: ${reason}`);
  }
  return lines.join("\n");
}

function show(v: unknown): string {
  if (v === undefined) return "(absent)";
  const s = JSON.stringify(v);
  return s.length > 1500 ? `${s.slice(0, 1500)}… (${s.length} chars)` : s;
}
