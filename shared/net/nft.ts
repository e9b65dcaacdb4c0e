/**
 * Generic nftables access: one `nft -f -` process applies a whole transaction atomically; one
 * `nft -j list …` process lists tables, chains and rules, read by the one parser of nft's JSON.
 * Rule content belongs to the callers.
 */
import { isPlainObject } from "../sys/plain-object.js";
import { SystemError } from "../sys/system-error.js";
import { firstLine, haveBinary, run } from "./process.js";

export function nftAvailable(): boolean {
  return haveBinary("nft");
}

/** Applies a script (text, or lines) as one atomic `nft -f -` transaction; nothing to do for none. */
export function nftApply(script: string | readonly string[], what = "nft -f -"): void {
  const text = typeof script === "string" ? script : script.join("\n");
  if (text === "") return;
  run(["nft", "-f", "-"], { input: text.endsWith("\n") ? text : `${text}\n`, what });
}

export interface NftRule {
  family?: string;
  table?: string;
  chain: string;
  handle: number;
  comment?: string;
  /** Target chain of a jump/goto verdict in the rule, if any. */
  jumpTarget?: string;
}

/** What `nft -j list …` printed: tables, chains (with their table) and rules, in order. */
export interface NftListing {
  tables: Array<{ family: string; name: string }>;
  chains: Array<{ family?: string; table?: string; name: string }>;
  rules: NftRule[];
}

const optionalString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The one parser of nft's JSON output (throws on text that is no JSON; skips entries it does not know). */
export function parseNftJson(text: string): NftListing {
  const doc: unknown = JSON.parse(text);
  const out: NftListing = { tables: [], chains: [], rules: [] };
  for (const item of isPlainObject(doc) && Array.isArray(doc.nftables) ? doc.nftables : []) {
    if (!isPlainObject(item)) continue;
    if (isPlainObject(item.table) && typeof item.table.name === "string") {
      out.tables.push({ family: String(item.table.family), name: item.table.name });
    }
    if (isPlainObject(item.chain)) {
      out.chains.push({
        family: optionalString(item.chain.family),
        table: optionalString(item.chain.table),
        name: String(item.chain.name),
      });
    }
    if (!isPlainObject(item.rule)) continue;
    const rule = item.rule;
    const entry: NftRule = {
      family: optionalString(rule.family),
      table: optionalString(rule.table),
      chain: String(rule.chain),
      handle: Number(rule.handle),
    };
    if (typeof rule.comment === "string") entry.comment = rule.comment;
    for (const expr of Array.isArray(rule.expr) ? rule.expr : []) {
      if (!isPlainObject(expr)) continue;
      const verdict = isPlainObject(expr.jump) ? expr.jump : isPlainObject(expr.goto) ? expr.goto : undefined;
      if (verdict && typeof verdict.target === "string") entry.jumpTarget = verdict.target;
    }
    out.rules.push(entry);
  }
  return out;
}

/**
 * `nft -j list ARGS` parsed; undefined when nft refuses. With `strict`, a refusal
 * other than "no such table/chain" is thrown instead.
 */
export function nftList(args: readonly string[], strict = false): NftListing | undefined {
  const r = run(["nft", "-j", "list", ...args], { check: false });
  if (r.status !== 0) {
    if (!strict || /No such file or directory|does not exist/i.test(r.stderr)) return undefined;
    throw new SystemError(`nft list ${args.join(" ")}: ${firstLine(r.stderr)}`);
  }
  return parseNftJson(r.stdout);
}

/** Rules of one chain, or undefined when the table or chain does not exist. */
export function nftListChain(family: string, table: string, chain: string): NftRule[] | undefined {
  return nftList(["chain", family, table, chain], true)?.rules;
}

/** Chains and rules of a whole table (one process), or undefined when the table does not exist. */
export function nftListTable(family: string, table: string): { chains: Set<string>; rules: NftRule[] } | undefined {
  const listing = nftList(["table", family, table], true);
  return listing && { chains: new Set(listing.chains.map((c) => c.name)), rules: listing.rules };
}

/** A string literal for an nft script. */
export function nftQuote(s: string): string {
  return `"${s.replace(/["\\]/g, "")}"`;
}
