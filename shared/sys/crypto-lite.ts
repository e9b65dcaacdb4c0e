/**
 * Hashing and random bytes without importing node:crypto at start-up (about 1 ms of every
 * process): random bytes come from Web Crypto, node:crypto is loaded on the first hash only.
 */
type NodeCrypto = typeof import("node:crypto");
let nodeCrypto: NodeCrypto | undefined;

export function sha512Hex(text: string): string {
  nodeCrypto ??= process.getBuiltinModule("node:crypto") as NodeCrypto;
  return nodeCrypto.createHash("sha512").update(text).digest("hex");
}

export function randomBytes(n: number): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}
