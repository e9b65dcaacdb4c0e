/**
 * What `cni-ts gc` (and doctor) find on a node, and how gc releases it. Per network with a
 * host-local store:
 * - leaked attachments: every reservation of the attachment is leaked (ipam/host-local/leaks.ts);
 *   releasing one does what the runtime's DEL would have done;
 * - leftovers: a saved flannel config or a libcni cache entry of an attachment that holds no
 *   reservation, older than the grace period (what a release interrupted half-way, or a DEL that
 *   never came after a failed ADD, leaves behind).
 *
 * Release order, so that a kill at any point leaves something the next run finds again: the
 * reservations first (re-checked under the store lock: the one step where a mistake could hand an
 * address out twice), then the plugins' DEL (portmap, flannel → bridge: masquerade and port-mapping
 * rules, the saved config), then libcni's cache entry, which is what marks the leftover until then.
 */
import { faultPoint } from "../sys/fault.js";
import {
  DEFAULT_GRACE_MS,
  type JudgedReservation,
  judgeStore,
  listReservations,
  releaseLeaked,
} from "../../ipam/host-local/leaks.js";
import { withLockedStore } from "../../ipam/host-local/store.js";
import { SavedConfigStore, attachmentOf } from "../../plugins/flannel/saved-config-store.js";
import { type DelOutcome, type PluginRunner, deleteAttachment, execPlugin } from "./attachment-del.js";
import { type CachedAttachment, findCached, listCache, removeCached } from "./libcni-cache.js";
import { type HolderScan, isComplete } from "./netns-scan.js";
import { type NodeConfig, type NodeNetwork, storeDirOf } from "./node-config.js";

export interface Attachment {
  containerId: string;
  /** Undefined for a legacy reservation naming only the container. */
  ifname: string | undefined;
}

export interface LeakedAttachment {
  kind: "leaked";
  network: NodeNetwork;
  storeDir: string;
  /** Undefined for reservation files that name nobody (empty or garbage): released alone. */
  owner: Attachment | undefined;
  reservations: JudgedReservation[];
  savedConfig?: string;
  cached?: CachedAttachment;
  /**
   * The same container's attachments to networks without a host-local store (containerd's
   * loopback network, say): the runtime would have deleted them with the pod.
   */
  companions: Array<{ network: NodeNetwork; cached: CachedAttachment }>;
}

export interface Leftover {
  kind: "leftover";
  network: NodeNetwork;
  storeDir: string;
  owner: Attachment & { ifname: string };
  savedConfig?: string;
  cached?: CachedAttachment;
  /** Firewall rules naming the container ("masquerade", "hostPort"). */
  rules?: string[];
  ageMs: number;
}

/** A firewall rule naming a network and a container (state-check.ts parses them from the nat table). */
export interface ContainerRule {
  network: string;
  containerId: string;
  kind: string;
}

export interface NetworkSummary {
  network: NodeNetwork;
  storeDir: string;
  reservations: number;
  held: number;
  young: number;
  leaked: number;
}

export interface GcPlan {
  scan: HolderScan;
  graceMs: number;
  networks: NetworkSummary[];
  leaked: LeakedAttachment[];
  leftovers: Leftover[];
}

const key = (cid: string, ifname: string | undefined) => `${cid}\n${ifname ?? ""}`;

function savedConfigsOf(net: NodeNetwork): Map<string, { file: string; mtimeMs: number }> {
  const out = new Map<string, { file: string; mtimeMs: number }>();
  if (!net.flannel) return out;
  const store = new SavedConfigStore(net.flannel.dataDir);
  for (const { name, file } of store.list()) {
    const owner = attachmentOf(name);
    const saved = store.read(file);
    if (!owner || !saved) continue;
    // Another network may share the dataDir: only this network's files (unreadable ones too).
    if (saved.config && saved.config.name !== net.name) continue;
    out.set(key(owner.containerId, owner.ifname ?? "eth0"), { file, mtimeMs: saved.mtimeMs });
  }
  return out;
}

export function planGc(
  config: NodeConfig,
  scan: HolderScan,
  graceMs = DEFAULT_GRACE_MS,
  onlyNetwork?: string,
  rules: readonly ContainerRule[] = [],
): GcPlan {
  const plan: GcPlan = { scan, graceMs, networks: [], leaked: [], leftovers: [] };
  const cache = listCache(config.paths.cacheDir);
  const seenStores = new Set<string>();
  const storeless = new Map<string, NodeNetwork>();
  let owners: Set<string> | undefined;
  /** Containers holding a reservation in any store of the node (read once, when first needed). */
  const ownersEverywhere = (): Set<string> =>
    (owners ??= new Set(
      config.networks.flatMap((n) => {
        const dir = storeDirOf(n);
        return dir === undefined ? [] : listReservations(dir).flatMap((r) => (r.owner ? [r.owner.containerId] : []));
      }),
    ));
  for (const n of config.networks) if (storeDirOf(n) === undefined && !storeless.has(n.name)) storeless.set(n.name, n);
  for (const net of config.networks) {
    if (onlyNetwork !== undefined && net.name !== onlyNetwork) continue;
    const storeDir = storeDirOf(net);
    // Two files naming the same network: libcni uses the first; so do we.
    if (storeDir === undefined || seenStores.has(storeDir)) continue;
    seenStores.add(storeDir);
    const judged = judgeStore(storeDir, scan, graceMs);
    const count = (k: string) => judged.filter((r) => r.verdict.kind === k).length;
    plan.networks.push({
      network: net,
      storeDir,
      reservations: judged.length,
      held: count("held"),
      young: count("young"),
      leaked: count("leaked"),
    });

    const byOwner = new Map<string, JudgedReservation[]>();
    for (const r of judged) {
      const k = r.owner ? key(r.owner.containerId, r.owner.ifname) : `\0${r.address}`;
      byOwner.set(k, [...(byOwner.get(k) ?? []), r]);
    }
    const saved = savedConfigsOf(net);
    const netCache = cache.filter((c) => c.networkName === net.name);
    for (const rs of byOwner.values()) {
      if (!rs.every((r) => r.verdict.kind === "leaked")) continue;
      const o = rs[0]!.owner;
      const owner = o ? { containerId: o.containerId, ifname: o.ifname } : undefined;
      const ifname = owner?.ifname ?? netCache.find((c) => c.containerId === owner?.containerId)?.ifName ?? "eth0";
      const leak: LeakedAttachment = {
        kind: "leaked",
        network: net,
        storeDir,
        owner,
        reservations: rs,
        companions: [],
      };
      if (owner) {
        const s = saved.get(key(owner.containerId, ifname));
        if (s) leak.savedConfig = s.file;
        const c = findCached(config.paths.cacheDir, net.name, owner.containerId, ifname);
        if (c) leak.cached = c;
        for (const other of cache) {
          const otherNet = storeless.get(other.networkName);
          if (otherNet && other.containerId === owner.containerId)
            leak.companions.push({ network: otherNet, cached: other });
        }
      }
      plan.leaked.push(leak);
    }

    if (!isComplete(scan)) continue;
    const holding = new Set(
      judged.flatMap((r) =>
        r.owner ? [key(r.owner.containerId, r.owner.ifname), key(r.owner.containerId, undefined)] : [],
      ),
    );
    const candidates = new Map<string, Leftover>();
    const leftover = (cid: string, ifname: string): Leftover | undefined => {
      if (holding.has(key(cid, ifname)) || holding.has(key(cid, undefined))) return undefined;
      const k = key(cid, ifname);
      let l = candidates.get(k);
      if (!l) {
        l = { kind: "leftover", network: net, storeDir, owner: { containerId: cid, ifname }, ageMs: Infinity };
        candidates.set(k, l);
      }
      return l;
    };
    for (const [k, s] of saved) {
      const [cid, ifname] = k.split("\n") as [string, string];
      const l = leftover(cid, ifname);
      if (!l) continue;
      l.savedConfig = s.file;
      l.ageMs = Math.min(l.ageMs, scan.startedAt - s.mtimeMs);
    }
    for (const c of netCache) {
      const l = leftover(c.containerId, c.ifName);
      if (!l) continue;
      l.cached = c;
      l.ageMs = Math.min(l.ageMs, scan.startedAt - c.mtimeMs);
    }
    // Rules are made after the reservation and removed after it: no ADD in progress has rules
    // without a reservation, so they need no grace period.
    const hasPortmap = net.plugins.some((p) => p.type === "portmap");
    for (const r of rules) {
      // portmap's nftables rules name only the container: any network with portmap may own them.
      const mine = r.network === net.name || (r.network === "" && hasPortmap && !ownersEverywhere().has(r.containerId));
      if (!mine || judged.some((j) => j.owner?.containerId === r.containerId)) continue;
      const l =
        [...candidates.values()].find((c) => c.owner.containerId === r.containerId) ?? leftover(r.containerId, "eth0");
      if (l) l.rules = [...new Set([...(l.rules ?? []), r.kind])];
    }
    for (const l of candidates.values()) if (l.ageMs > graceMs) plan.leftovers.push(l);
  }
  return plan;
}

export interface ApplyStep {
  item: LeakedAttachment | Leftover;
  /** Addresses released under the lock (leaked attachments only). */
  released: string[];
  /** Why nothing more was done: changed since the scan, or a plugin's DEL failed. */
  skipped?: string;
  del?: DelOutcome;
  cacheRemoved: boolean;
}

/** Releases one plan item; see the module comment for the order. */
export function applyItem(
  item: LeakedAttachment | Leftover,
  plan: GcPlan,
  binDir: string,
  runPlugin: PluginRunner = execPlugin,
): ApplyStep {
  const step: ApplyStep = { item, released: [], cacheRemoved: false };
  if (item.kind === "leaked") {
    const released = withLockedStore(item.storeDir, (store) => {
      // All or nothing: one address still in use (or re-claimed since) keeps the whole attachment.
      const still = releaseLeaked(store, item.reservations, plan.scan, plan.graceMs, { dryRun: true });
      if (still.length !== item.reservations.length) return undefined;
      return releaseLeaked(store, item.reservations, plan.scan, plan.graceMs);
    });
    if (released === undefined) {
      step.skipped = "changed since the scan (re-reserved, re-added or in use): kept";
      return step;
    }
    step.released = released.map((r) => r.address);
    faultPoint("gc:released");
    if (!item.owner) return step;
  }
  const owner = item.owner!;
  const ifname = owner.ifname ?? item.cached?.ifName ?? "eth0";
  step.del = deleteAttachment(
    item.network,
    binDir,
    { containerId: owner.containerId, ifname },
    item.cached,
    runPlugin,
    (type) => faultPoint(`gc:del:${type}`),
  );
  if (!step.del.ok) {
    step.skipped = "a plugin's DEL failed: the cached result is kept so that the next run retries";
    return step;
  }
  if (item.cached) {
    removeCached(item.cached);
    step.cacheRemoved = true;
    faultPoint("gc:cache-removed");
  }
  for (const c of item.kind === "leaked" ? item.companions : []) {
    const target = { containerId: c.cached.containerId, ifname: c.cached.ifName };
    const del = deleteAttachment(c.network, binDir, target, c.cached, runPlugin);
    step.del.steps.push(...del.steps.map((x) => `network ${c.network.name}: ${x}`));
    if (del.ok) removeCached(c.cached);
  }
  return step;
}
