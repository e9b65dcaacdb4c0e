import { readlinkSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assertHome, netnsMechanism, withNetns } from "./netns-enter.js";

describe("withNetns", () => {
  it("is not available under Node, so callers keep the nsenter path", () => {
    expect(netnsMechanism()).toBe("nsenter");
    let ran = false;
    expect(withNetns("/proc/self/ns/net", () => (ran = true))).toBeUndefined();
    expect(ran).toBe(false);
  });

  it("leaves the thread where it was and reports no stranding", () => {
    const before = readlinkSync("/proc/thread-self/ns/net");
    withNetns("/nonexistent/ns", () => 1);
    expect(readlinkSync("/proc/thread-self/ns/net")).toBe(before);
    expect(() => assertHome()).not.toThrow();
  });
});
