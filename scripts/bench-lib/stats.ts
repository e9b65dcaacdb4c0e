/** Order statistics for the bench: every figure it reports is a median or a 95th percentile. */
export interface Summary {
  /** Successful samples / all samples. */
  ok: number;
  n: number;
  median: number | null;
  p95: number | null;
  min: number | null;
  max: number | null;
}

/** Nearest-rank percentile (p in 0..100) of the samples; null when there are none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The median; for an even count the mean of the two middle samples. */
export function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summarises the successful samples of a series that also counts its failures. */
export function summarize(okSamples: readonly number[], total: number): Summary {
  return {
    ok: okSamples.length,
    n: total,
    median: median(okSamples),
    p95: percentile(okSamples, 95),
    min: okSamples.length ? Math.min(...okSamples) : null,
    max: okSamples.length ? Math.max(...okSamples) : null,
  };
}

/** ours / reference, or null when either side has no figure. */
export function ratio(ours: number | null | undefined, reference: number | null | undefined): number | null {
  if (ours == null || reference == null || reference === 0) return null;
  return ours / reference;
}
