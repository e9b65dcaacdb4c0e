import { describe, expect, it } from "vitest";
import { Backlog } from "./backlog.js";

describe("the resident service's backlog", () => {
  it("admits calls while the queued work stays within the bound, always the first", () => {
    const b = new Backlog(100);
    expect(b.admit("DEL")).toBe(true); // 30
    expect(b.admit("DEL")).toBe(true); // 60
    expect(b.admit("DEL")).toBe(true); // 90
    expect(b.admit("DEL")).toBe(false);
    expect(b.admit("CHECK")).toBe(true); // 96
    b.finished("DEL", 30);
    expect(b.admit("DEL")).toBe(true);
    const big = new Backlog(10);
    expect(big.admit("DEL")).toBe(true); // an idle service takes any call
  });

  it("learns each verb's duration", () => {
    const b = new Backlog(1000);
    for (let i = 0; i < 30; i++) {
      b.admit("DEL");
      b.finished("DEL", 100);
    }
    expect(b.queued).toBe(0);
    expect(b.admit("DEL")).toBe(true);
    expect(b.queued).toBeGreaterThan(95);
    expect(b.queued).toBeLessThanOrEqual(100);
  });
});
