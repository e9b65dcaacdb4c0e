import { writeSync } from "node:fs";

/**
 * Writes all of `text` to a file descriptor synchronously. Plugins never touch process.stdout or
 * process.stderr: creating those streams costs a Bun executable about 11 ms per process (measured
 * by scripts/bench), as much as the rest of a VERSION call.
 */
export function writeAll(fd: number, text: string | Buffer): void {
  const buf = typeof text === "string" ? Buffer.from(text) : text;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
}
