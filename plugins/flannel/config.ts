import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { DEFAULT_SUBNET_FILE } from "./subnet-env.js";

export const DEFAULT_DATA_DIR = "/var/lib/cni/flannel";

const absolutePath = z.string().check(z.refine((p) => p === "" || p.startsWith("/"), "must be an absolute path"));
const jsonObject = z.nullable(z.record(z.string(), z.unknown()));

const FlannelConfigSchema = z.looseObject({
  name: z.string(),
  cniVersion: z.optional(z.string()),
  subnetFile: z.optional(absolutePath),
  dataDir: z.optional(absolutePath),
  delegate: z.optional(jsonObject),
  ipam: z.optional(jsonObject),
  runtimeConfig: z.optional(jsonObject),
});

export interface FlannelConfig {
  name: string;
  /** "" when the config has none (then the delegate keeps its own, as upstream). */
  cniVersion: string;
  subnetFile: string;
  dataDir: string;
  delegate: Record<string, unknown>;
  ipam: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/**
 * Validates the flannel plugin's config (the whole object the runtime sent) and applies defaults.
 * The delegate's rules are checked on ADD only, as upstream does: a DEL that follows an ADD refused
 * for such a config must succeed, or the pod could never be torn down.
 */
export function parseFlannelConfig(raw: Record<string, unknown>, opts: { checkDelegate: boolean }): FlannelConfig {
  // Keys inside delegate, ipam and runtimeConfig are map keys upstream: kept as written.
  const c = parseWith(FlannelConfigSchema, raw, "flannel config");
  const delegate = { ...(c.delegate ?? {}) };
  if (opts.checkDelegate) checkDelegate(delegate);
  return {
    name: c.name,
    cniVersion: c.cniVersion ?? "",
    subnetFile: c.subnetFile || DEFAULT_SUBNET_FILE,
    dataDir: c.dataDir || DEFAULT_DATA_DIR,
    delegate,
    ipam: { ...(c.ipam ?? {}) },
    ...(c.runtimeConfig ? { runtimeConfig: c.runtimeConfig } : {}),
  };
}

/** Upstream's messages, word for word: installers and users search for them. */
function checkDelegate(delegate: Record<string, unknown>): void {
  if ("type" in delegate && typeof delegate.type !== "string") {
    throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
  }
  if ("name" in delegate) throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if ("ipam" in delegate) throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
}
