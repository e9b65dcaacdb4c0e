import { delegate } from "../../shared/cni/delegate.js";
import { CniError, ErrorCode, toCniError } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import { type Family, familyOf } from "../../shared/net/ip.js";
import { SystemError } from "../../shared/sys/system-error.js";
import { GONE } from "../../shared/net/batch.js";
import { deleteLink } from "../../shared/net/detached-delete.js";
import { KernelStepError } from "../../shared/net/kernel.js";
import { ownLinkNames } from "../../shared/net/links.js";
import { probeNetns } from "../../shared/net/netns.js";
import { loadBridgeConf } from "./config.js";
import { deleteHostLink } from "./host-state.js";
import { chooseBackend, teardownMasq } from "./masq.js";
import { teardownSpoofCheck } from "./spoof-check.js";

/**
 * DEL removes everything ADD made for this attachment and never fails because something is
 * already gone: the pod link (if the namespace still exists), the IPAM lease (always), the
 * masquerade rules in both backends (derived from network + container id, no addresses needed)
 * and the spoof check. Real failures are reported after every step has been tried.
 */
export async function del(inv: Invocation): Promise<void> {
  const conf = loadBridgeConf(inv, { forDel: true });
  const { netns, containerId, ifname } = inv.env;
  const note = (m: string) => inv.trace.note(m);
  const errors: CniError[] = [];
  const attempt = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (e) {
      errors.push(toCniError(e));
    }
  };

  await attempt(() => removePodLink(inv, conf.bridge, note));
  if (conf.ipamType !== "") await attempt(() => delegate(inv, conf.ipamType, "DEL", inv.stdin));
  if (conf.ipMasq) {
    // prevResult's addresses say which iptables families can hold rules; without it, both are searched.
    const families = familiesOf(safePrev(inv));
    await attempt(() =>
      teardownMasq(chooseBackend(conf.ipMasqBackend), conf.name, { containerId, ifname }, note, families),
    );
  }
  if (conf.macspoofchk) await attempt(() => teardownSpoofCheck(containerId, ifname));
  if (errors.length > 0) throw errors[0];
}

async function removePodLink(inv: Invocation, bridge: string, note: (m: string) => void): Promise<void> {
  const { netns, ifname } = inv.env;
  const probe = netns === "" ? undefined : probeNetns(netns);
  if (probe?.state === "ok") {
    try {
      await deleteLink(
        {
          op: { op: "link-del", dev: ifname },
          tolerate: GONE,
          fail: (r) => new CniError(ErrorCode.Internal, `failed to delete "${ifname}" in ${netns}: ${r}`),
        },
        netns,
      );
    } catch (e) {
      // A name ip -batch cannot carry: ADD refused it too, so no link of ours has it.
      if (e instanceof SystemError && e.kind === "environment") return note(`DEL: ${e.message}; nothing to remove`);
      throw e instanceof KernelStepError ? e.toError() : e;
    }
    return;
  }
  note(
    netns === ""
      ? "DEL without CNI_NETNS: pod link not touched"
      : `DEL: netns ${netns} is gone (${probe?.state}); pod link not touched`,
  );
  // The namespace file is gone but the namespace may live on (held by a process): remove the host end
  // named in prevResult, which takes the pod end with it.
  const hostVeth = previousHostVeth(safePrev(inv), bridge, ifname);
  if (hostVeth && ownLinkNames().has(hostVeth)) {
    deleteHostLink(hostVeth);
    note(`DEL: removed host veth ${hostVeth} from prevResult`);
  }
}

function familiesOf(prev: Result | undefined): Family[] | undefined {
  if (!prev || prev.ips.length === 0) return undefined;
  return ([4, 6] as const).filter((f) => prev.ips.some((ip) => familyOf(ip.address) === f));
}

function safePrev(inv: Invocation): Result | undefined {
  try {
    return inv.prevResult();
  } catch {
    return undefined;
  }
}

function previousHostVeth(prev: Result | undefined, bridge: string, ifname: string): string | undefined {
  return prev?.interfaces.find(
    (i) => !i.sandbox && i.name !== bridge && i.name !== ifname && /^veth[0-9a-f]{8}$/.test(i.name),
  )?.name;
}
