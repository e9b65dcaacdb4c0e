/**
 * `cni-ts firewall-reload`: puts back the masquerade rules (bridge, also behind flannel) and port
 * mappings (portmap) of every live attachment after a firewall reload or a flush removed them.
 * The attachments come from libcni's result cache (config, portMappings, result) and, for
 * flannel, from its saved delegate configs. Each attachment is restored in the backend its config
 * resolves to, as its ADD did; rules still present are left alone, nothing is duplicated and
 * nothing that is not ours is touched. Acts in the network namespace it runs in.
 */
import type { Result } from "../cni/result.js";
import { type Cidr, parseCidr } from "../net/ip.js";
import { writeAll } from "../sys/write-all.js";
import { type AttachmentChain, type ChainPlugin, liveness, readCachedAttachments } from "./cached-attachments.js";
import type { NodeCommand } from "./index.js";
import { PATH_FLAGS_HELP, withNodeFlags } from "./node-flags.js";

export interface ReloadLine {
  status: "restored" | "intact" | "skipped" | "failed";
  attachment: string;
  what: string;
  detail: string;
}

const USAGE = `usage: cni-ts firewall-reload [--conf-dir DIR] [--cache-dir DIR]
Re-applies the masquerade rules and port mappings of every live attachment on this node (in the
network namespace it runs in), from libcni's result cache; prints what it restored.
${PATH_FLAGS_HELP}
`;

function attachmentName(att: AttachmentChain): string {
  return `${att.network}/${att.containerId}/${att.ifname}`;
}

/** The bridge config whose masquerade rules this chain plugin set up, if any (flannel: its saved delegate). */
async function bridgeConfigOf(plugin: ChainPlugin, att: AttachmentChain): Promise<Record<string, unknown> | undefined> {
  if (plugin.type === "bridge") return plugin.raw;
  if (plugin.type !== "flannel") return undefined;
  const { parseFlannelConfig } = await import("../../plugins/flannel/config.js");
  const { SavedConfigStore } = await import("../../plugins/flannel/saved-config-store.js");
  const conf = parseFlannelConfig(plugin.raw, { checkDelegate: false });
  const saved = new SavedConfigStore(conf.dataDir).load(att.containerId, att.ifname, att.network)?.config;
  return saved && (saved.type ?? "bridge") === "bridge" ? saved : undefined;
}

/** "restored" with what was missing (the first item, shortened, and how many), or "intact". */
function outcome(what: string, missing: readonly string[]): Omit<ReloadLine, "attachment"> {
  if (missing.length === 0) return { status: "intact", what, detail: "all rules present" };
  const first = missing[0]!.length > 100 ? `${missing[0]!.slice(0, 99)}…` : missing[0]!;
  return {
    status: "restored",
    what,
    detail: missing.length === 1 ? first : `${missing.length} missing, e.g. ${first}`,
  };
}

async function restoreBridgeMasq(
  conf: Record<string, unknown>,
  att: AttachmentChain,
  result: Result,
): Promise<Array<Omit<ReloadLine, "attachment">>> {
  if (conf.ipMasq !== true) return [];
  const configured = conf.ipMasqBackend;
  if (configured !== undefined && configured !== null && configured !== "iptables" && configured !== "nftables") {
    return [{ status: "failed", what: "bridge ipMasq", detail: `unknown ipMasqBackend ${JSON.stringify(configured)}` }];
  }
  const ips = result.ips.map((ip) => parseCidr(ip.address)).filter((c): c is Cidr => c !== undefined);
  if (ips.length === 0) return [];
  const { chooseBackend, restoreMasq } = await import("../../plugins/bridge/masq.js");
  const backend = chooseBackend(configured ?? undefined);
  const network = typeof conf.name === "string" ? conf.name : att.network;
  return restoreMasq(backend, network, { containerId: att.containerId, ifname: att.ifname }, ips).map(
    ({ family, missing }) => outcome(`bridge ipMasq ${backend}${family === "inet" ? "" : ` ipv${family}`}`, missing),
  );
}

async function restorePlugin(
  plugin: ChainPlugin,
  att: AttachmentChain,
  result: Result,
): Promise<Array<Omit<ReloadLine, "attachment">>> {
  if (plugin.type === "portmap") {
    const { restorePortmap } = await import("../../plugins/portmap/restore.js");
    const raw = plugin.raw;
    return restorePortmap({ raw, network: att.network, containerId: att.containerId, ifname: att.ifname, result }).map(
      (o) => outcome(o.what, o.missing),
    );
  }
  const bridge = await bridgeConfigOf(plugin, att);
  return bridge ? restoreBridgeMasq(bridge, att, result) : [];
}

/** Restores every live attachment's rules, oldest attachment first (so rule order matches ADD order). */
export async function firewallReload(confDir: string, cacheDir: string): Promise<ReloadLine[]> {
  const lines: ReloadLine[] = [];
  for (const att of readCachedAttachments(cacheDir, confDir)) {
    const attachment = attachmentName(att);
    const state = liveness(att);
    if (state === "gone") {
      lines.push({
        status: "skipped",
        attachment,
        what: "attachment",
        detail: "pod network namespace is gone (leaked; GC removes it)",
      });
      continue;
    }
    if (!att.result) {
      lines.push({ status: "skipped", attachment, what: "attachment", detail: "the cache holds no result" });
      continue;
    }
    for (const plugin of att.plugins) {
      try {
        for (const l of await restorePlugin(plugin, att, att.result)) lines.push({ attachment, ...l });
      } catch (e) {
        lines.push({ status: "failed", attachment, what: plugin.type, detail: (e as Error).message });
      }
    }
  }
  return lines;
}

export function formatReload(lines: readonly ReloadLine[]): string {
  const out = lines.map((l) => `${l.status.padEnd(8)} ${l.attachment}  ${l.what}: ${l.detail}\n`);
  const count = (s: ReloadLine["status"]) => lines.filter((l) => l.status === s).length;
  out.push(
    `firewall-reload: ${count("restored")} restored, ${count("intact")} intact, ${count("skipped")} skipped, ${count("failed")} failed\n`,
  );
  return out.join("");
}

export const command: NodeCommand = {
  summary:
    "re-apply the masquerade rules and port mappings of every live attachment (after a firewall reload or flush)",
  run: (args) =>
    withNodeFlags("firewall-reload", USAGE, args, {}, async ({ confDir, cacheDir }) => {
      const lines = await firewallReload(confDir, cacheDir);
      writeAll(1, formatReload(lines));
      return lines.some((l) => l.status === "failed") ? 1 : 0;
    }),
};
