import { CniError, ErrorCode } from "../cni/errors.js";
import { isPlainObject } from "../cni/json.js";
import { haveBinary, run } from "./exec.js";

/**
 * Generic nftables access: one `nft -f -` process applies a whole transaction atomically; one
 * `nft -j list chain` lists a chain's rules. Rule content belongs to the callers.
 */
export function nftAvailable(): boolean {
  return haveBinary("nft");
}

export function nftApply(script: string, what = "nft -f -"): void {
  run(["nft", "-f", "-"], { input: script.endsWith("\n") ? script : `${script}\n`, what });
}

export interface NftRule {
  chain: string;
  handle: number;
  comment?: string;
  /** Target chain of a jump/goto verdict in the rule, if any. */
  jumpTarget?: string;
}

/** Rules of one chain, or undefined when the table or chain does not exist. */
export function nftListChain(family: string, table: string, chain: string): NftRule[] | undefined {
  const r = run(["nft", "-j", "list", "chain", family, table, chain], { check: false });
  if (r.status !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return undefined;
    throw new CniError(ErrorCode.Internal, `nft list chain ${family} ${table} ${chain}: ${r.stderr.trim().split("\n")[0]}`);
  }
  return parseNftChainJson(r.stdout);
}

export function parseNftChainJson(text: string): NftRule[] {
  const doc: unknown = JSON.parse(text);
  const items = isPlainObject(doc) && Array.isArray(doc.nftables) ? doc.nftables : [];
  const out: NftRule[] = [];
  for (const item of items) {
    if (!isPlainObject(item) || !isPlainObject(item.rule)) continue;
    const rule = item.rule;
    const entry: NftRule = { chain: String(rule.chain), handle: Number(rule.handle) };
    if (typeof rule.comment === "string") entry.comment = rule.comment;
    for (const expr of Array.isArray(rule.expr) ? rule.expr : []) {
      if (!isPlainObject(expr)) continue;
      const verdict = isPlainObject(expr.jump) ? expr.jump : isPlainObject(expr.goto) ? expr.goto : undefined;
      if (verdict && typeof verdict.target === "string") entry.jumpTarget = verdict.target;
    }
    out.push(entry);
  }
  return out;
}

/** Chains and rules of a whole table (one process), or undefined when the table does not exist. */
export function nftListTable(family: string, table: string): { chains: Set<string>; rules: NftRule[] } | undefined {
  const r = run(["nft", "-j", "list", "table", family, table], { check: false });
  if (r.status !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return undefined;
    throw new CniError(ErrorCode.Internal, `nft list table ${family} ${table}: ${r.stderr.trim().split("\n")[0]}`);
  }
  const doc: unknown = JSON.parse(r.stdout);
  const chains = new Set<string>();
  for (const item of isPlainObject(doc) && Array.isArray(doc.nftables) ? doc.nftables : []) {
    if (isPlainObject(item) && isPlainObject(item.chain)) chains.add(String(item.chain.name));
  }
  return { chains, rules: parseNftChainJson(r.stdout) };
}

/** A string literal for an nft script. */
export function nftQuote(s: string): string {
  return `"${s.replace(/["\\]/g, "")}"`;
}
