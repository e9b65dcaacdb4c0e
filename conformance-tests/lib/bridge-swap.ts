/**
 * A private CNI_PATH directory whose bridge and host-local point at either implementation and can
 * be switched between two calls: a pod added by one implementation, deleted by the other.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { binDirFor, type Impl } from "./paths.js";

export interface SwappablePlugins {
  dir: string;
  use(impl: Impl): void;
  remove(): void;
}

export function swappablePlugins(initial: Impl): SwappablePlugins {
  const dir = mkdtempSync("/tmp/cts-bridge-swap-");
  const use = (impl: Impl) => {
    for (const p of ["bridge", "host-local"]) {
      rmSync(join(dir, p), { force: true });
      symlinkSync(join(binDirFor(impl), p), join(dir, p));
    }
  };
  use(initial);
  return { dir, use, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
