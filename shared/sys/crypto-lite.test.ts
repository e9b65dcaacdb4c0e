import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { randomBytes, sha512Hex } from "./crypto-lite.js";

describe("crypto-lite", () => {
  it("hashes like node:crypto's sha512", () => {
    expect(sha512Hex("cbr0" + "ctr-1")).toBe(createHash("sha512").update("cbr0ctr-1").digest("hex"));
  });

  it("returns the requested number of random bytes, different each time", () => {
    const a = randomBytes(6);
    expect(a).toHaveLength(6);
    expect(randomBytes(16).equals(randomBytes(16))).toBe(false);
  });
});
