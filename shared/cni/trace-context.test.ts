import { describe, expect, it } from "vitest";
import { traceContext, validTraceparent, validTracestate, withValidTraceContext } from "./trace-context.js";

const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("W3C trace context", () => {
  it("accepts the spec's traceparent and rejects malformed ones", () => {
    expect(validTraceparent(PARENT)).toBe(true);
    expect(validTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")).toBe(true);
    for (const bad of [
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      `${PARENT}\nINJECTED=1`,
      "",
    ]) {
      expect(validTraceparent(bad), bad).toBe(false);
    }
  });

  it("accepts list-member tracestates and rejects malformed ones", () => {
    expect(validTracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")).toBe(true);
    expect(validTracestate("tenant@vendor=a b,x=y")).toBe(true);
    for (const bad of ["", "novalue", "Upper=1", "a=1,a=2", "a=", "a=x,b=c=d", `a=${"v".repeat(300)}`, "a=\u00e9"]) {
      expect(validTracestate(bad), bad).toBe(false);
    }
    expect(validTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBe(false);
  });

  it("keeps only valid values, and TRACESTATE only with a valid TRACEPARENT", () => {
    expect(traceContext({ TRACEPARENT: PARENT, TRACESTATE: "a=1" })).toEqual({
      traceparent: PARENT,
      tracestate: "a=1",
      dropped: [],
    });
    expect(traceContext({ TRACEPARENT: "garbage", TRACESTATE: "a=1" })).toEqual({
      dropped: ["TRACEPARENT", "TRACESTATE"],
    });
    expect(traceContext({})).toEqual({ dropped: [] });
    const env = { PATH: "/bin", TRACEPARENT: "garbage", TRACESTATE: "a=1" };
    expect(withValidTraceContext(env)).toEqual({ PATH: "/bin" });
    const good = { PATH: "/bin", TRACEPARENT: PARENT };
    expect(withValidTraceContext(good)).toBe(good);
  });
});
