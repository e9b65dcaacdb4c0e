import * as z from "zod/mini";
import { CniError, ErrorCode } from "./errors.js";
import { CONTAINER_ID_PATTERN } from "./env.js";
import { matchGoKeys } from "./go-keys.js";
import { isPlainObject } from "../sys/plain-object.js";

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
  const { name } = matchGoKeys(NetConfSchema, raw) as Record<string, unknown>;
  if (name === undefined || name === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  }
  if (typeof name !== "string" || !CONTAINER_ID_PATTERN.test(name) || name.length > 256) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name");
  }
  return { raw, conf: parseWith(NetConfSchema, raw, "network config") };
}

/**
 * Validates `value` with a zod schema after matching its keys to the schema's fields the way Go's
 * encoding/json does (go-keys.ts); failure is code 7 naming each offending field.
 */
export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(matchGoKeys(schema, value));
  if (parsed.success) return parsed.data as z.infer<S>;
  const issues = parsed.error.issues
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
  throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${what}: ${issues}`);
}
