import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { kernel, waitForKernel } from "../../shared/net/kernel.js";
import { readHostLinks } from "./host-state.js";

const WAIT_MS = 5000;

type HostLinks = ReturnType<typeof readHostLinks>;

/**
 * Waits until the host veth is operationally UP (upstream's "bridge port" check), reacting to link
 * events instead of sleeping. Returns the final view of `names` (MACs for the result).
 */
export async function waitPortUp(names: readonly string[], veth: string): Promise<HostLinks> {
  let links = readHostLinks(names);
  const up = () => links.get(veth)?.operstate === "UP";
  if (up()) return links;
  const ok = await waitForKernel(
    "link",
    () => {
      links = readHostLinks(names);
      return up();
    },
    { timeoutMs: WAIT_MS },
  );
  if (!ok) {
    throw new CniError(
      ErrorCode.Internal,
      `bridge port in error state: ${links.get(veth)?.operstate ?? "missing"}`,
      `"${veth}" did not come up within ${WAIT_MS} ms`,
    );
  }
  return links;
}

/** With enabledad: waits until the pod's IPv6 addresses leave DAD (upstream's SettleAddresses). */
export async function settleAddresses(netns: string, ifname: string): Promise<void> {
  let state = "";
  const settled = () => {
    const [link] = kernel([], [{ q: "addrs", dev: ifname }], {
      netns,
      what: `failed to read addresses of "${ifname}"`,
    });
    if (!link) throw new CniError(ErrorCode.Internal, `failed to read addresses of "${ifname}": the link is gone`);
    const v6 = link.addrs.filter((a) => a.family === 6 && a.scope === "global");
    const failed = v6.find((a) => a.dadfailed);
    if (failed)
      throw new CniError(
        ErrorCode.Internal,
        `link ${ifname} has address ${failed.local}/${failed.prefixlen} in DADFAILED state`,
      );
    state = link.operstate;
    return !v6.some((a) => a.tentative);
  };
  if (settled()) return;
  const ok = await waitForKernel("address", settled, { netns, timeoutMs: WAIT_MS });
  if (!ok && state === "UP") {
    throw new CniError(ErrorCode.Internal, `link ${ifname} still has tentative IPv6 addresses after ${WAIT_MS} ms`);
  }
}
