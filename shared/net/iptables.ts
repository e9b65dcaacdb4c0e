/**
 * Generic iptables access through the save/restore pair: one process lists a table, one process
 * applies a whole change atomically (`--noflush`). Rule content belongs to the callers.
 */
import { haveBinary, run } from "./process.js";
import type { Family } from "./ip.js";

function binaries(family: Family): { save: string; restore: string } {
  return family === 4
    ? { save: "iptables-save", restore: "iptables-restore" }
    : { save: "ip6tables-save", restore: "ip6tables-restore" };
}

export function iptablesAvailable(family: Family): boolean {
  const b = binaries(family);
  return haveBinary(b.save) && haveBinary(b.restore);
}

export interface SavedTable {
  /** User and built-in chains declared in the table. */
  chains: Set<string>;
  /** Every rule as iptables-save prints it ("-A CHAIN ..."). */
  rules: string[];
}

/** Lists one table (`iptables-save -t table`); an absent table is empty. */
export function saveTable(family: Family, table: string): SavedTable {
  const r = run([binaries(family).save, "-t", table], { what: `${binaries(family).save} -t ${table}` });
  return parseSavedTable(r.stdout, table);
}

export function parseSavedTable(text: string, table: string): SavedTable {
  const out: SavedTable = { chains: new Set(), rules: [] };
  let inTable = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) inTable = line.slice(1).trim() === table;
    else if (!inTable) continue;
    else if (line.startsWith(":")) out.chains.add(line.slice(1).split(" ")[0]!);
    else if (line.startsWith("-A ")) out.rules.push(line);
  }
  return out;
}

/** Applies restore lines for one table in one atomic `iptables-restore --noflush`. */
export function restoreTable(family: Family, table: string, lines: readonly string[]): void {
  if (lines.length === 0) return;
  const input = `*${table}\n${lines.join("\n")}\nCOMMIT\n`;
  run([binaries(family).restore, "--noflush", "--wait"], { input, what: `${binaries(family).restore} (${table})` });
}

/** The target of a saved rule (`-j X`), if any. */
export function ruleTarget(rule: string): string | undefined {
  return / -j (\S+)/.exec(rule)?.[1];
}

/** The chain a saved rule was appended to. */
export function ruleChain(rule: string): string {
  return rule.split(" ")[1] ?? "";
}

/** The (unescaped) text of a saved rule's `--comment "..."`, if any. */
export function ruleComment(rule: string): string | undefined {
  const m = / --comment ("(?:[^"\\]|\\.)*"|\S+)/.exec(rule);
  if (!m) return undefined;
  const raw = m[1]!;
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
}

/** A comment argument quoted the way iptables-save prints (and iptables-restore reads) it. */
export function quoteComment(comment: string): string {
  return `"${comment.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The one teardown renderer: restore lines that remove the existing `chains` (flush, delete) and
 * every rule elsewhere that jumps to them. Nothing for chains the table does not have.
 */
export function chainTeardownLines(table: SavedTable, chains: readonly string[]): string[] {
  const doomed = new Set(chains.filter((c) => table.chains.has(c)));
  const jumps = table.rules.filter((r) => doomed.has(ruleTarget(r) ?? "") && !doomed.has(ruleChain(r)));
  const lines = deleteLines(jumps);
  for (const c of doomed) lines.push(`-F ${c}`, `-X ${c}`);
  return lines;
}

/** Restore lines that delete the given saved rules ("-A" → "-D"). */
export function deleteLines(rules: readonly string[]): string[] {
  return rules.map((r) => `-D${r.slice(2)}`);
}
