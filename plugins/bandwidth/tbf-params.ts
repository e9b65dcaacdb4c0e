/**
 * The numbers the Go plugin hands the kernel for one token bucket, computed the same way (the same
 * float64 operations in the same order, the same truncations to uint32), and the ifb device name.
 */
import { sha512Hex } from "../../shared/sys/crypto-lite.js";
import type { Limit } from "./config.js";

/** The queue a tbf may hold, expressed as time at the configured rate (upstream's constant). */
const LATENCY_MS = 25;
const TIME_UNITS_PER_SEC = 1_000_000;
const IFB_PREFIX = "bwp";
const IFNAME_MAX = 15;

/** Kernel ticks per microsecond, from /proc/net/psched (15.625 on every current kernel). */
export function tickInUsec(psched: string): number {
  const [t2us, us2t, clockRes] = psched
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16)) as [number, number, number];
  return (t2us / us2t) * (clockRes / TIME_UNITS_PER_SEC);
}

/** Go's uint32(x) for a non-negative float64 on amd64: truncate, then keep the low 32 bits. */
function uint32(x: number): number {
  return Number(BigInt(Math.trunc(x)) & 0xffffffffn);
}

export interface TbfParams {
  /** bytes per second */
  rate: number;
  /** the bucket size in kernel ticks (what `tc -r` prints as burst_raw) */
  buffer: number;
  /** bytes queued at most */
  limit: number;
  /** the bucket size in bytes as configured (burst/8) */
  burstBytes: number;
}

export function tbfParams(limit: Limit, tick: number): TbfParams {
  const rate = Math.floor(limit.rateBits / 8);
  const burstBytes = Math.floor(limit.burstBits / 8);
  const buffer = goBuffer(rate, burstBytes, tick);
  const latency = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000.0);
  const queue = uint32(uint32((rate * latency) / TIME_UNITS_PER_SEC) + burstBytes);
  return { rate, buffer, limit: queue, burstBytes };
}

/** Go: time2Tick(uint32(burst * TIME_UNITS_PER_SEC / rate)). */
function goBuffer(rate: number, burst: number, tick: number): number {
  return uint32(uint32((burst * TIME_UNITS_PER_SEC) / rate) * tick);
}

/**
 * The ticks the kernel stores when tc sends the burst in bytes (TCA_TBF_BURST, which tc always
 * sends and which then wins over the tick count): psched_l2t_ns with the mult/shift pair
 * psched_ratecfg_precompute derives from the rate, shifted down to ticks (PSCHED_SHIFT 6).
 */
export function kernelTicks(rateBytes: number, len: number): number {
  const rate = BigInt(rateBytes);
  let factor = 1_000_000_000n;
  let mult = 0n;
  let shift = 0n;
  for (;;) {
    mult = (factor / rate) & 0xffffffffn;
    if (mult & (1n << 31n) || factor & (1n << 63n)) break;
    factor <<= 1n;
    shift++;
  }
  const ns = (BigInt(len) * mult) >> shift;
  return Number((ns >> 6n) & 0xffffffffn);
}

/**
 * The `burst` in bytes to give the kernel (TCA_TBF_BURST, as tc does) and the ticks it will then
 * hold (what CHECK expects): it computes them from the bytes, without Go's truncation to whole
 * microseconds, so they come out at most one microsecond (plus rounding) longer. Our netlink
 * requests send the same bytes so that they leave the state `tc -batch` (the Node path) leaves.
 */
export function tcBurst(p: TbfParams): { bytes: number; ticks: number } {
  return { bytes: p.burstBytes, ticks: kernelTicks(p.rate, p.burstBytes) };
}

/**
 * The ticks tc itself computes for `size` bytes at `rate` (tc_calc_xmittime): htb takes its bucket
 * in ticks from tc, with no byte count for the kernel to convert.
 */
export function tcXmitTicks(rate: number, size: number, tick: number): number {
  return uint32(uint32(TIME_UNITS_PER_SEC * (size / rate)) * tick);
}

/** "bwp" + 12 hex digits of sha512(network name + container id): upstream's ifb name. */
export function ifbName(network: string, containerId: string): string {
  return `${IFB_PREFIX}${sha512Hex(network + containerId)}`.slice(0, IFNAME_MAX);
}

export function isIfbName(name: string): boolean {
  return name.length === IFNAME_MAX && name.startsWith(IFB_PREFIX) && /^[0-9a-f]+$/.test(name.slice(IFB_PREFIX.length));
}
