/**
 * IPv4 arithmetic for the sandbox cluster: the node subnets flanneld would lease out of the
 * cluster CIDR (SubnetLen 24, like flannel's default) and the underlay between the nodes.
 */
export interface Cidr {
  /** Network address as an unsigned 32-bit number (host bits cleared). */
  base: number;
  prefix: number;
}

export const NODE_SUBNET_PREFIX = 24;

export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`${JSON.stringify(text)} is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || prefix > 32) throw new Error(`${JSON.stringify(text)} is not an IPv4 CIDR such as 10.244.0.0/16`);
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(parseIpv4(m[1]!) / size) * size, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}

/** The cluster CIDR must hold the node /24s the sandbox hands out (index 1 and up). */
export function parseClusterCidr(text: string): Cidr {
  const c = parseCidr(text);
  if (c.prefix > 20) {
    throw new Error(`cluster CIDR ${text} is too small: use a prefix of /20 or shorter (each node gets a /24)`);
  }
  return c;
}

export function subnetCount(cluster: Cidr): number {
  return 2 ** (NODE_SUBNET_PREFIX - cluster.prefix);
}

/** The index-th /24 of the cluster network (flanneld's lease for a node). */
export function nodeSubnet(cluster: Cidr, index: number): Cidr {
  if (!Number.isInteger(index) || index < 0 || index >= subnetCount(cluster)) {
    throw new Error(`node subnet index ${index} is outside ${formatCidr(cluster)}`);
  }
  return { base: cluster.base + index * 2 ** (32 - NODE_SUBNET_PREFIX), prefix: NODE_SUBNET_PREFIX };
}

/** The address at `offset` inside a network (offset 1 = the gateway flanneld writes to FLANNEL_SUBNET). */
export function hostAddress(net: Cidr, offset: number): string {
  return formatIpv4(net.base + offset);
}

export function contains(net: Cidr, address: string): boolean {
  const a = parseIpv4(address);
  return a >= net.base && a < net.base + 2 ** (32 - net.prefix);
}

/**
 * The underlay /24 for one cluster: 192.168.X.0/24 with X in 200..249 picked from the run id,
 * so concurrent runs (each in its own namespaces anyway) show different node addresses.
 */
export function underlayFor(runId: string): Cidr {
  let h = 0;
  for (const ch of runId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return { base: parseIpv4(`192.168.${200 + (h % 50)}.0`), prefix: 24 };
}
