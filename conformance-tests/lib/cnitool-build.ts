import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { CNITOOL, CNITOOL_DIR, TOOL_PATH } from "./paths.js";
import { runCommand } from "./run-command.js";

const SOURCES = ["main.go", "build.sh"].map((f) => join(CNITOOL_DIR, f));

/** True when the cnitool binary is missing or older than one of its sources. */
export function cnitoolIsStale(): boolean {
  if (!existsSync(CNITOOL)) return true;
  const built = statSync(CNITOOL).mtimeMs;
  return SOURCES.some((src) => statSync(src).mtimeMs > built);
}

/**
 * Builds conformance-tests/cnitool/cnitool when missing or stale (GOPATH mode over Debian's libcni).
 * Safe to call from every test file: the build script renames a finished binary into place.
 */
export async function ensureCnitool(): Promise<string> {
  if (!cnitoolIsStale()) return CNITOOL;
  await runCommand([join(CNITOOL_DIR, "build.sh")], {
    env: { PATH: TOOL_PATH, HOME: process.env.HOME ?? "/root" },
    timeoutMs: 300_000,
  }).catch((e: Error) => {
    throw new Error(
      `cannot build the libcni client (needs golang-go and golang-github-appc-cni-dev; scripts/test installs them): ${e.message}`,
    );
  });
  return CNITOOL;
}
