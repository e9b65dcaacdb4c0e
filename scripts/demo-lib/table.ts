/** Plain-text tables and timings for the demo's summary. */
export function table(rows: readonly (readonly string[])[], indent = "  "): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).trimEnd(),
    )
    .join("\n");
}

export function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`;
}

/** A stopwatch started at creation; `lap()` prints "[  1.23s] what". */
export class Clock {
  private readonly start = performance.now();

  elapsed(): number {
    return performance.now() - this.start;
  }

  stamp(): string {
    return `[${(this.elapsed() / 1000).toFixed(2).padStart(6)}s]`;
  }
}
