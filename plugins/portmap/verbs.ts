/**
 * portmap's verbs: forward host ports to the container (DNAT from the node's addresses and from
 * localhost, hairpin masquerade), as a chained plugin after the one that gave the pod its IPs.
 */
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import { type PortmapConf, containerAddresses, installedRuleTools, parsePortmapConf } from "./config.js";
import { validAttachments } from "../../shared/cni/attachments.js";

/* The rule machinery loads only when there is something to map: most pods have no hostPort,
   and kube-flannel runs portmap for every one of them. */
const iptablesBackend = () => import("./iptables-backend.js");
const nftBackend = () => import("./nft-backend.js");

function readConf(inv: Invocation): PortmapConf {
  return parsePortmapConf(inv.raw, inv.conf.name, inv.conf.runtimeConfig, installedRuleTools);
}

export async function add(inv: Invocation): Promise<Result> {
  const conf = readConf(inv);
  inv.trace.mark("config");
  const prev = inv.prevResult();
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "must be called as chained plugin",
      "put portmap after the plugin that assigns the pod's addresses in a .conflist",
    );
  }
  const passThrough = { ...prev, cniVersion: inv.cniVersion };
  if (conf.mappings.length === 0) return passThrough;
  const addrs = containerAddresses(prev, inv.env.ifname);
  if (addrs.length === 0) {
    inv.trace.note(`portmap: prevResult has no address on ${inv.env.ifname} in the sandbox; no ports forwarded`);
    return passThrough;
  }
  await inv.trace.span(conf.backend, async () =>
    conf.backend === "nftables"
      ? (await nftBackend()).addNft(conf, inv.env.containerId, addrs)
      : (await iptablesBackend()).addIptables(conf, inv.env.containerId, addrs),
  );
  const { flushUdpConntrack } = await import("./udp-conntrack.js");
  const skipped = flushUdpConntrack(conf.mappings, addrs);
  if (skipped) inv.trace.note(`portmap: ${skipped}`);
  const v4 = addrs.find((a) => a.family === 4);
  if (conf.snat && v4) {
    const { enableRouteLocalnet } = await import("./route-localnet.js");
    const iface = enableRouteLocalnet(v4.ip);
    if (!iface)
      inv.trace.note(`portmap: no route to ${v4.ip}; route_localnet not set, localhost:hostPort will not reach it`);
    const { ensureLocalnetGuard } = await import("./localnet-guard.js");
    await inv.trace.span("localnet guard", () => ensureLocalnetGuard(conf.backend));
  }
  return passThrough;
}

/**
 * Removes the container's rules of both backends (a node may have switched backend since ADD,
 * and either implementation may have made them). Needs neither the netns nor prevResult.
 */
export async function del(inv: Invocation): Promise<void> {
  const conf = readConf(inv);
  inv.trace.mark("config");
  if (conf.mappings.length === 0) return;
  const iptables = () =>
    inv.trace.span("iptables", async () => (await iptablesBackend()).removeIptables(conf, inv.env.containerId));
  const nftables = () => inv.trace.span("nftables", async () => (await nftBackend()).removeNft(inv.env.containerId));
  for (const remove of conf.backend === "nftables" ? [nftables, iptables] : [iptables, nftables]) await remove();
  await releaseGuard(inv);
}

/** The localnet guard goes with the node's last IPv4 port mapping; failing to look is only a note. */
async function releaseGuard(inv: Invocation): Promise<void> {
  try {
    const { releaseLocalnetGuard } = await import("./localnet-guard.js");
    await inv.trace.span("localnet guard", () => releaseLocalnetGuard());
  } catch (e) {
    inv.trace.note(`portmap: could not check whether the localnet guard is still needed: ${(e as Error).message}`);
  }
}

export async function check(inv: Invocation): Promise<void> {
  const conf = readConf(inv);
  const prev = inv.prevResult();
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "Required prevResult missing",
      "CHECK needs the cached ADD result as prevResult",
    );
  }
  if (conf.mappings.length === 0) return;
  const addrs = containerAddresses(prev, inv.env.ifname);
  const problems =
    conf.backend === "nftables"
      ? (await nftBackend()).checkNft(conf, inv.env.containerId, addrs)
      : (await iptablesBackend()).checkIptables(conf, inv.env.containerId, addrs);
  if (problems.length > 0) {
    throw new CniError(
      ErrorCode.Internal,
      problems.join("; "),
      "run DEL and ADD again for this container to restore its port mappings",
    );
  }
}

/** Removes rules of attachments the runtime no longer knows (spec 1.1 GC). */
export async function gc(inv: Invocation): Promise<void> {
  const conf = readConf(inv);
  const valid = validContainerIds(inv.raw);
  await inv.trace.span("iptables", async () => (await iptablesBackend()).gcIptables(conf, valid));
  await inv.trace.span("nftables", async () => (await nftBackend()).gcNft(valid));
  await releaseGuard(inv);
}

function validContainerIds(raw: Record<string, unknown>): Set<string> {
  const valid = validAttachments(raw);
  if (valid === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "GC needs cni.dev/valid-attachments",
      "the runtime must list the attachments to keep; without it nothing is removed",
    );
  }
  return new Set(valid.map((a) => a.containerId));
}

/** portmap keeps no state of its own to report. */
export function status(): void {}
