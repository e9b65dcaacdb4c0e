/**
 * loopback: brings `lo` up in the pod namespace (CNI_IFNAME is ignored, as upstream). One kernel
 * call inside the namespace does the change and reads the result back (netlink in this process;
 * one `ip -batch` process where there is no FFI).
 */
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import { emptyResult, type Result } from "../../shared/cni/result.js";
import { kernel, type KernelStep, KernelStepError } from "../../shared/net/kernel.js";
import { probeNetns, requireNetns } from "../../shared/net/netns.js";
import { loopbackAddresses, loopbackOf } from "./lo-state.js";

function setLo(netns: string, up: boolean): KernelStep {
  const what = `setting lo ${up ? "up" : "down"} in ${netns}`;
  return { op: { op: "link-set", dev: "lo", up }, fail: (r) => new CniError(ErrorCode.Internal, `${what}: ${r}`) };
}

function onLo<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof KernelStepError ? e.toError() : e;
  }
}

export function add(inv: Invocation): Result {
  const netns = inv.env.netns;
  requireNetns(netns);
  const [link] = onLo(() =>
    kernel([setLo(netns, true)], [{ q: "addrs", dev: "lo" }], { netns, what: `setting lo up in ${netns}` }),
  );
  const lo = loopbackOf(link);
  const { v4, v6 } = loopbackAddresses(lo);
  const prev = inv.prevResult();
  if (prev) return { ...prev, cniVersion: inv.cniVersion };
  const result = emptyResult(inv.cniVersion);
  result.interfaces.push({ name: "lo", mac: "00:00:00:00:00:00", sandbox: inv.env.netns });
  if (v4) result.ips.push({ address: v4, interface: 0 });
  if (v6) result.ips.push({ address: v6, interface: 0 });
  return result;
}

export function del(inv: Invocation): void {
  const netns = inv.env.netns;
  if (netns === "") return;
  const probe = probeNetns(netns);
  if (probe.state === "missing" || probe.state === "not-netns") {
    inv.trace.note(
      `loopback DEL: ${netns} is ${probe.state === "missing" ? "gone" : "not a network namespace"}; nothing to set down`,
    );
    return;
  }
  onLo(() => kernel([setLo(netns, false)], [], { netns, what: `setting lo down in ${netns}` }));
}

export function check(inv: Invocation): void {
  requireNetns(inv.env.netns);
  const [link] = kernel([], [{ q: "link", dev: "lo" }], {
    netns: inv.env.netns,
    what: `reading lo in ${inv.env.netns}`,
  });
  const lo = loopbackOf(link);
  if (!lo.up) {
    throw new CniError(
      ErrorCode.Internal,
      "loopback interface is down",
      `run ADD again to bring lo up in ${inv.env.netns}`,
    );
  }
}

/** Spec 1.1 verbs: nothing to collect and no dependency to report, as upstream (success, no output). */
export function gc(): void {}
export function status(): void {}
