/**
 * flannel's verbs: render subnet.env into the delegate config, save it, run the delegate
 * (shared/cni/delegate.ts; unit tests replace that module). Where they deliberately differ from
 * flannel-io/cni-plugin: docs/parity.md#flannel.
 */
import { delegate, findInPath } from "../../shared/cni/delegate.js";
import type { Verb } from "../../shared/cni/env.js";
import { CniError, ErrorCode, toCniError } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import {
  attachmentsJson,
  isValidAttachment,
  VALID_ATTACHMENTS_KEY,
  validAttachments,
} from "../../shared/cni/attachments.js";
import { buildDelegateConfig, delegateBytes, type DelegateConfig } from "./delegate-config.js";
import { fallbackConfig } from "./fallback-config.js";
import { parseFlannelConfig, type FlannelConfig } from "./config.js";
import { attachmentOf, SavedConfigStore } from "./saved-config-store.js";
import { loadSubnetEnv, SubnetEnvError } from "./subnet-env.js";

/** A temp file older than this cannot belong to a save still in progress. */
const STALE_TEMP_MS = 10 * 60 * 1000;

function typeOf(config: DelegateConfig): string {
  return typeof config.type === "string" ? config.type : "bridge";
}

/** The delegate's error with upstream's prefix ("failed to delegate add: …") and the delegate's code. */
async function delegateOrFail(
  inv: Invocation,
  verb: Verb,
  config: DelegateConfig | Buffer,
  type: string,
): Promise<Result | undefined> {
  try {
    // Always Go's bytes, so every delegate sees what the Go plugin would have sent.
    return await delegate(inv, type, verb, Buffer.isBuffer(config) ? config : delegateBytes(config));
  } catch (e) {
    throw toCniError(e).wrap(`failed to delegate ${verb.toLowerCase()}`);
  }
}

/** The config for verbs other than ADD/DEL: the conflist's current version, plus verb-specific keys. */
function withVersion(conf: FlannelConfig, config: DelegateConfig, extra: Record<string, unknown>): DelegateConfig {
  const out = { ...config, ...extra };
  if (conf.cniVersion !== "") out.cniVersion = conf.cniVersion;
  return out;
}

function configOf(inv: Invocation): FlannelConfig {
  return parseFlannelConfig(inv.raw, { checkDelegate: inv.verb === "ADD" });
}

export async function add(inv: Invocation): Promise<Result> {
  const conf = configOf(inv);
  const env = loadSubnetEnv(conf.subnetFile);
  const config = buildDelegateConfig(conf, env);
  const bytes = delegateBytes(config);
  inv.trace.mark("flannel render");
  // Saved before delegating so that the DEL the runtime sends after a failed ADD finds it.
  new SavedConfigStore(conf.dataDir).save(inv.env.containerId, inv.env.ifname, bytes);
  inv.trace.mark("flannel save");
  const result = await delegateOrFail(inv, "ADD", bytes, typeOf(config));
  if (!result) throw new CniError(ErrorCode.Internal, "failed to delegate add: the delegate returned no result");
  return result;
}

export async function del(inv: Invocation): Promise<void> {
  const conf = configOf(inv);
  const store = new SavedConfigStore(conf.dataDir);
  const { containerId, ifname } = inv.env;
  const saved = store.load(containerId, ifname, conf.name);
  if (saved?.config) {
    await delegateOrFail(inv, "DEL", saved.bytes, typeOf(saved.config));
    // Only now: if the delegate failed, the runtime's retry must find the file again.
    store.remove(saved.file);
    store.removeTemps(containerId, ifname);
    return;
  }
  const fallback = fallbackConfig(conf, store);
  const what = saved
    ? `${saved.file} is not a delegate config (${saved.bytes.length} bytes)`
    : "no saved delegate config";
  inv.trace.note(
    `flannel: ${what} for ${containerId}/${ifname}; releasing with a config from ${fallback.from ?? fallback.source}`,
  );
  try {
    await delegateOrFail(inv, "DEL", fallback.config, typeOf(fallback.config));
  } catch (e) {
    // Without subnet.env and without any saved config there is nothing better to try: a failing
    // DEL would wedge the pod for good, so report and succeed (docs/parity.md#flannel).
    if (fallback.source !== "defaults") throw e;
    inv.trace.note(`flannel: release without subnet.env failed, nothing more to do: ${(e as Error).message}`);
  }
  if (saved) store.remove(saved.file);
  store.removeTemps(containerId, ifname);
}

export async function check(inv: Invocation): Promise<void> {
  const conf = configOf(inv);
  const saved = new SavedConfigStore(conf.dataDir).load(inv.env.containerId, inv.env.ifname, conf.name);
  const base = saved?.config ?? buildDelegateConfig(conf, loadSubnetEnv(conf.subnetFile));
  const config = withVersion(conf, base, { prevResult: inv.conf.prevResult });
  await delegateOrFail(inv, "CHECK", config, typeOf(config));
}

export async function gc(inv: Invocation): Promise<void> {
  const conf = configOf(inv);
  // No list means none is valid (the spec's reading): the saved configs go with the leases.
  const valid = validAttachments(inv.raw) ?? [];
  const store = new SavedConfigStore(conf.dataDir);
  const fallback = fallbackConfig(conf, store);
  const config = withVersion(conf, fallback.config, { [VALID_ATTACHMENTS_KEY]: attachmentsJson(valid) });
  await delegateOrFail(inv, "GC", config, typeOf(config));
  // Pruned only after the delegate succeeded: until then a stale file may be the only config left.
  for (const { name, file } of store.list()) {
    const owner = attachmentOf(name);
    if (!owner || isValidAttachment(valid, owner.containerId, owner.ifname)) continue;
    const saved = store.read(file);
    // Another network may share the dataDir: leave its files alone. Unreadable files help no one.
    if (saved?.config && saved.config.name !== conf.name) continue;
    store.remove(file);
  }
  store.removeStaleTemps(STALE_TEMP_MS);
}

export async function status(inv: Invocation): Promise<void> {
  const conf = configOf(inv);
  let config: DelegateConfig;
  try {
    config = buildDelegateConfig(conf, loadSubnetEnv(conf.subnetFile));
  } catch (e) {
    if (!(e instanceof SubnetEnvError)) throw e;
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      e.message,
      e.details || "flanneld has not written a valid subnet.env yet",
    );
  }
  try {
    findInPath(typeOf(config), inv.env.path);
  } catch (e) {
    // Not installed (yet) is "not ready", which is what STATUS reports.
    const err = toCniError(e);
    throw new CniError(ErrorCode.PluginNotAvailable, `failed to delegate status: ${err.message}`, err.details);
  }
  await delegateOrFail(inv, "STATUS", withVersion(conf, config, {}), typeOf(config));
}
