import { readFileSync } from "node:fs";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { printable } from "../../shared/cni/env.js";
import { type Family, formatCidr, networkOf, parseCidr } from "../../shared/net/ip.js";

/** What flanneld tells the node in subnet.env; CIDRs are already masked network strings. */
export interface SubnetEnv {
  networks: string[];
  ipv6Networks: string[];
  subnet?: string;
  ipv6Subnet?: string;
  mtu?: number;
  ipMasq?: boolean;
}

export const DEFAULT_SUBNET_FILE = "/run/flannel/subnet.env";

/** Users grep for this prefix (flannel-io/cni-plugin since v1.7.1-flannel2). */
const PREFIX = "failed to load flannel 'subnet.env' file";
const SUFFIX = ". Check the flannel pod log for this node.";

/** An error about subnet.env (missing, malformed, incomplete): callers that can do without it catch this. */
export class SubnetEnvError extends CniError {
  override readonly name = "SubnetEnvError";
}

/** An error about subnet.env, in upstream's wording, with our code and hint. */
export function subnetEnvError(code: number, inner: string, details = ""): SubnetEnvError {
  return new SubnetEnvError(code, `${PREFIX}: ${inner}${SUFFIX}`, details);
}

function parseCidrList(value: string, family: Family, key: string, where: string): string[] {
  const out: string[] = [];
  for (const item of value.split(",")) {
    const text = item.trim();
    if (text === "") continue;
    out.push(parseNetwork(text, family, key, where));
  }
  if (out.length === 0) throw malformed(key, value, where, "expected one or more comma-separated CIDRs");
  return [...new Set(out)];
}

function parseNetwork(text: string, family: Family, key: string, where: string): string {
  const c = parseCidr(text);
  if (!c) throw malformed(key, text, where, "not a CIDR such as 10.244.0.0/16");
  if (c.family !== family) throw malformed(key, text, where, `not an IPv${family} CIDR`);
  return formatCidr(networkOf(c));
}

function malformed(key: string, value: string, where: string, why: string): CniError {
  return subnetEnvError(ErrorCode.DecodingFailure, `${where}: ${key}="${printable(value, 80)}" is ${why}`);
}

/** Removes one pair of matching surrounding quotes, as a shell would for a plain value. */
function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1).trim();
  return v;
}

const KNOWN = new Set([
  "FLANNEL_NETWORK",
  "FLANNEL_IPV6_NETWORK",
  "FLANNEL_SUBNET",
  "FLANNEL_IPV6_SUBNET",
  "FLANNEL_MTU",
  "FLANNEL_IPMASQ",
]);

/**
 * Parses subnet.env text. Accepts what flanneld writes and what people write by hand: CRLF,
 * surrounding whitespace, `#` comments, blank lines, `export `, quoted values. Unknown keys are
 * ignored and later duplicates win, as upstream. `file` only names the file in messages.
 */
export function parseSubnetEnv(text: string, file: string): SubnetEnv {
  const env: SubnetEnv = { networks: [], ipv6Networks: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `${file} line ${i + 1}`;
    const eq = line.indexOf("=");
    const key = (eq < 0 ? line : line.slice(0, eq)).trim().replace(/^export\s+/, "");
    if (!KNOWN.has(key)) continue;
    if (eq < 0) throw malformed(key, "", where, 'missing its "=value"');
    const value = unquote(line.slice(eq + 1).trim());
    switch (key) {
      case "FLANNEL_NETWORK":
        env.networks = parseCidrList(value, 4, key, where);
        break;
      case "FLANNEL_IPV6_NETWORK":
        env.ipv6Networks = parseCidrList(value, 6, key, where);
        break;
      case "FLANNEL_SUBNET":
        env.subnet = parseNetwork(value, 4, key, where);
        break;
      case "FLANNEL_IPV6_SUBNET":
        env.ipv6Subnet = parseNetwork(value, 6, key, where);
        break;
      case "FLANNEL_MTU":
        if (!/^[0-9]{1,10}$/.test(value) || Number(value) > 0xffffffff) {
          throw malformed(key, value, where, "not an MTU (a decimal number)");
        }
        env.mtu = Number(value);
        break;
      case "FLANNEL_IPMASQ":
        // Exactly what flanneld writes; upstream reads anything but "true" as false, silently.
        if (value !== "true" && value !== "false") throw malformed(key, value, where, "neither true nor false");
        env.ipMasq = value === "true";
        break;
    }
  }
  return env;
}

/** The groups upstream requires, named as upstream names them; empty when complete. */
export function missingKeys(env: SubnetEnv): string[] {
  const missing: string[] = [];
  if (env.networks.length === 0 && env.ipv6Networks.length === 0)
    missing.push("FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK");
  if (env.subnet === undefined && env.ipv6Subnet === undefined) missing.push("FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET");
  if (env.mtu === undefined) missing.push("FLANNEL_MTU");
  if (env.ipMasq === undefined) missing.push("FLANNEL_IPMASQ");
  return missing;
}

/** A complete subnet.env: every value the delegate config needs is known. */
export interface CompleteSubnetEnv extends SubnetEnv {
  mtu: number;
  ipMasq: boolean;
}

/**
 * Reads and validates subnet.env. A missing file is code 11 (try again later: flanneld has not
 * written its lease yet); a malformed or incomplete one is code 6 naming the key and the file.
 */
export function loadSubnetEnv(file: string): CompleteSubnetEnv {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") {
      throw subnetEnvError(
        ErrorCode.TryAgainLater,
        `open ${file}: no such file or directory`,
        "flanneld writes this file once it has a subnet lease for this node; the runtime will retry",
      );
    }
    throw subnetEnvError(ErrorCode.IoFailure, `open ${file}: ${err.message}`);
  }
  const env = parseSubnetEnv(text, file);
  const missing = missingKeys(env);
  if (missing.length > 0) {
    throw subnetEnvError(
      ErrorCode.DecodingFailure,
      `${file} is missing ${missing.join(", ")}`,
      "flanneld writes FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU and FLANNEL_IPMASQ (or the IPV6 twins)",
    );
  }
  return env as CompleteSubnetEnv;
}
