import * as z from "zod/mini";
import { CniError, ErrorCode } from "./errors.js";
import { CONTAINER_ID_PATTERN } from "./env.js";
import { isPlainObject } from "./json.js";

/**
 * The fields every network config shares. Objects are loose: unknown keys are kept, because
 * plugins hand their whole config on to delegates.
 */
export const NetConfSchema = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.string(),
  type: z.optional(z.string()),
  capabilities: z.optional(z.record(z.string(), z.unknown())),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  dns: z.optional(z.unknown()),
  runtimeConfig: z.optional(z.record(z.string(), z.unknown())),
  args: z.optional(z.unknown()),
  prevResult: z.optional(z.unknown()),
  debugLog: z.optional(z.string()),
});
export type NetConf = z.infer<typeof NetConfSchema>;

/** Largest stdin we accept: far beyond any real config, small enough to never hurt the node. */
export const MAX_CONFIG_BYTES = 1 << 20;

/** Parses stdin as skel does: JSON, then a network name of the allowed characters. */
export function parseNetConfBytes(stdin: Buffer): { raw: Record<string, unknown>; conf: NetConf } {
  if (stdin.length > MAX_CONFIG_BYTES) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: config is ${stdin.length} bytes, more than the ${MAX_CONFIG_BYTES} allowed`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stdin.toString("utf8"));
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  if (!isPlainObject(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config: expected a JSON object");
  }
  if (raw.name === undefined || raw.name === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  }
  if (typeof raw.name !== "string" || !CONTAINER_ID_PATTERN.test(raw.name) || raw.name.length > 256) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name");
  }
  return { raw, conf: parseWith(NetConfSchema, raw, "network config") };
}

/** Validates `value` with a zod schema; failure is code 7 naming each offending field. */
export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as z.infer<S>;
  const issues = parsed.error.issues
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
  throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${what}: ${issues}`);
}

/** Looks a key up ignoring case, as Go's encoding/json does (containerd sends "HostPort"). */
export function getCaseInsensitive(obj: unknown, key: string): unknown {
  if (!isPlainObject(obj)) return undefined;
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Renames keys of `obj` to the canonical spelling in `keys`, matching case-insensitively. */
export function canonicalKeys(obj: unknown, keys: readonly string[]): unknown {
  if (!isPlainObject(obj)) return obj;
  const byLower = new Map(keys.map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[byLower.get(k.toLowerCase()) ?? k] = v;
  return out;
}
