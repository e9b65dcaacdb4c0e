import { delegate } from "../../shared/cni/delegate.js";
import { CniError, ErrorCode, toCniError } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import { type Cidr, parseCidr } from "../../shared/net/ip.js";
import { EXISTS, assertBatchSafe } from "../../shared/net/batch.js";
import { run } from "../../shared/net/process.js";
import { kernel, KernelStepError } from "../../shared/net/kernel.js";
import { ownLinkNames } from "../../shared/net/links.js";
import { requireNetns } from "../../shared/net/netns.js";
import { ensureSysctl, writeNetnsSysctls, writeSysctl } from "../../shared/net/sysctl.js";
import { planBridgeAddrs } from "./bridge-address.js";
import { type BridgeConf, loadBridgeConf } from "./config.js";
import { calcGateways, type Gateways } from "./gateways.js";
import { planHost, planPortVlans } from "./host-plan.js";
import {
  countBridgePorts,
  deleteHostLink,
  inspectBridge,
  randomMac,
  randomVethName,
  readHostLinks,
} from "./host-state.js";
import { chooseBackend, setupMasq, teardownMasq } from "./masq.js";
import { planPod, podSysctls } from "./pod-plan.js";
import { assembleResult } from "./result.js";
import { setupSpoofCheck, teardownSpoofCheck } from "./spoof-check.js";
import { settleAddresses, waitPortUp } from "./wait.js";

const VETH_ATTEMPTS = 10;

/** What ADD has changed so far, so that a failure can undo it. */
interface Undo {
  ipam: boolean;
  veth: string | undefined;
  masq: boolean;
  spoof: boolean;
}

export async function add(inv: Invocation): Promise<Result> {
  const conf = loadBridgeConf(inv);
  const { netns, containerId, ifname } = inv.env;
  requireNetns(netns);
  // Names go into ip batches: refuse unusable ones before IPAM hands out a lease.
  for (const name of [ifname, netns, conf.bridge]) assertBatchSafe(name);
  const undo: Undo = { ipam: false, veth: undefined, masq: false, spoof: false };
  try {
    return await addSteps(inv, conf, undo);
  } catch (e) {
    await rollback(inv, conf, undo, { containerId, ifname });
    throw e;
  }
}

async function addSteps(inv: Invocation, conf: BridgeConf, undo: Undo): Promise<Result> {
  const { netns, containerId, ifname } = inv.env;
  // IPAM first (in-process when it is our host-local): a failure then leaves the node untouched.
  let gws: Gateways = { ips: [], routes: [], bridgeAddrs: { 4: [], 6: [] } };
  let ipamDns = {};
  if (conf.ipamType !== "") {
    const r = await delegate(inv, conf.ipamType, "ADD", inv.stdin);
    undo.ipam = true;
    if (!r || r.ips.length === 0) throw new CniError(ErrorCode.Internal, "IPAM plugin returned missing IP config");
    gws = calcGateways(r.ips, r.routes, conf);
    ipamDns = r.dns;
  }
  const host = inv.trace.span("host", () => setupHost(inv, conf, gws, undo));
  const { veth, vlanGwIface } = await host;

  // Pod side: sysctls, then addresses, up, routes, and the MAC read back (netlink in this process;
  // one sysctl and one ip batch process where there is no FFI).
  const pod = await inv.trace.span("pod", () => {
    // upstream sets the pod sysctls on the layer-3 path only.
    if (conf.ipamType !== "") writeNetnsSysctls(netns, podSysctls(ifname, gws.ips, conf.enabledad));
    const steps = planPod(ifname, gws.ips, gws.routes, !conf.disableContainerInterface);
    try {
      const [link] = kernel(steps, [{ q: "link", dev: ifname }], {
        netns,
        what: `failed to configure "${ifname}" in ${netns}`,
      });
      if (!link)
        throw new CniError(ErrorCode.Internal, `failed to configure "${ifname}" in ${netns}: the link is gone`);
      return link;
    } catch (e) {
      throw toCniError(e instanceof KernelStepError ? e.toError() : e);
    }
  });
  if (conf.enabledad && gws.ips.some((ip) => ip.gateway?.includes(":"))) await settleAddresses(netns, ifname);

  for (const family of [4, 6] as const) {
    if (gws.bridgeAddrs[family].length === 0) continue;
    const key = family === 4 ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding";
    if (!ensureSysctl(key, "1") && family === 4) {
      throw new CniError(ErrorCode.Internal, "failed to enable forwarding: /proc/sys/net/ipv4/ip_forward is missing");
    }
  }

  if (conf.ipMasq && gws.ips.length > 0) {
    const ips = gws.ips.map((ip) => parseCidr(ip.address)).filter((c): c is Cidr => c !== undefined);
    undo.masq = true;
    await inv.trace.span("masq", () =>
      setupMasq(chooseBackend(conf.ipMasqBackend), conf.name, { containerId, ifname }, ips),
    );
  }
  if (conf.macspoofchk) {
    undo.spoof = true;
    setupSpoofCheck(veth, pod.address, containerId, ifname);
  }

  const names = [conf.bridge, veth, ...(vlanGwIface ? [vlanGwIface] : [])];
  const hostLinks = conf.disableContainerInterface ? readHostLinks(names) : await waitPortUp(names, veth);
  return assembleResult({
    inv,
    conf,
    veth,
    vlanGwIface,
    pod,
    gws,
    ipamDns,
    hostLinks,
  });
}

/**
 * Bridge, veth pair, port flags, gateway addresses: one kernel call (plus one inspection when the
 * bridge exists). A concurrent ADD creating the bridge or its address first is not an error: the
 * batch is re-planned against what now exists.
 */
function setupHost(
  inv: Invocation,
  conf: BridgeConf,
  gws: Gateways,
  undo: Undo,
): { veth: string; vlanGwIface: string | undefined } {
  const { netns, ifname } = inv.env;
  const vlanGw = conf.vlan !== 0 && conf.isGateway ? `${conf.bridge}.${conf.vlan}` : undefined;
  const wanted = [...gws.bridgeAddrs[4], ...gws.bridgeAddrs[6]];
  for (let attempt = 0; attempt < VETH_ATTEMPTS; attempt++) {
    const state = inspectBridge(conf.bridge, vlanGw);
    const gwIface = vlanGw ?? conf.bridge;
    const gwLink = vlanGw ? state.vlanGw : state.bridge;
    const addrs = planBridgeAddrs(gwIface, gwLink?.addrs ?? [], wanted, {
      forceAddress: conf.forceAddress,
      portsAttached: () => countBridgePorts(conf.bridge),
    });
    const veth = randomVethName();
    const vlanPeer = vlanGw && !state.vlanGw ? randomVethName() : undefined;
    const plan = planHost({
      conf,
      bridge: state.bridge,
      newBridgeMac: conf.isGateway ? randomMac() : undefined,
      veth,
      ifname,
      netns,
      gwIface,
      newVlanGwPeer: vlanPeer,
      addrs,
    });
    try {
      kernel(plan.steps, [], { what: `failed to set up bridge "${conf.bridge}"` });
    } catch (e) {
      if (!(e instanceof KernelStepError)) throw e;
      if (e.index > plan.vethStep) undo.veth = veth;
      const exists = EXISTS.test(e.reason);
      if (e.index === 0 && !state.bridge && exists) {
        inv.trace.note(`bridge: "${conf.bridge}" was created by a concurrent ADD; re-planned against it`);
        continue;
      }
      if (e.index === plan.vethStep && exists) {
        if (ownLinkNames().has(veth)) continue; // random name taken: draw another
        // The pod already has this interface (a repeated ADD): its lease is the live pod's, keep it.
        undo.ipam = false;
        throw new CniError(
          ErrorCode.Internal,
          `container veth name ("${ifname}") peer provided ("${veth}") already exists`,
          `"${ifname}" already exists in ${netns}: the pod was added before without DEL; run DEL first`,
        );
      }
      throw e.toError();
    }
    undo.veth = veth;
    for (const n of plan.notes) inv.trace.note(n);
    // "we want to own the routes for this interface" (upstream); missing when IPv6 is disabled.
    writeSysctl(`net/ipv6/conf/${conf.bridge}/accept_ra`, "0");
    writeSysctl(`net/ipv6/conf/${veth}/accept_ra`, "0");
    const vlanLines = planPortVlans(conf, veth);
    if (vlanPeer) vlanLines.push(...planPortVlans(conf, vlanPeer, conf.vlan));
    if (vlanLines.length > 0) {
      run(["bridge", "-batch", "-"], {
        input: `${vlanLines.join("\n")}\n`,
        what: `failed to setup vlan tag on interface "${veth}"`,
      });
    }
    return { veth, vlanGwIface: vlanGw };
  }
  throw new CniError(ErrorCode.Internal, "failed to find a unique veth name", "retry the ADD");
}

/** Undo after a failed ADD: firewall rules, the veth pair (its pod end goes with it), the IPAM lease. */
async function rollback(
  inv: Invocation,
  conf: BridgeConf,
  undo: Undo,
  att: { containerId: string; ifname: string },
): Promise<void> {
  const soft = (what: string, fn: () => unknown) => {
    try {
      return fn();
    } catch (e) {
      inv.trace.note(`ADD failed; ${what} also failed: ${(e as Error).message}`);
      return undefined;
    }
  };
  if (undo.spoof) soft("removing the spoof check", () => teardownSpoofCheck(att.containerId, att.ifname));
  if (undo.masq)
    soft("removing ipMasq rules", () =>
      teardownMasq(chooseBackend(conf.ipMasqBackend), conf.name, att, (m) => inv.trace.note(m)),
    );
  if (undo.veth) soft(`deleting ${undo.veth}`, () => deleteHostLink(undo.veth!));
  if (undo.ipam) {
    try {
      await delegate(inv, conf.ipamType, "DEL", inv.stdin);
    } catch (e) {
      inv.trace.note(`ADD failed; releasing the IPAM lease also failed: ${(e as Error).message}`);
    }
  }
}
