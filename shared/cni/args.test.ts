import { describe, expect, it } from "vitest";
import { parseCniArgs } from "./args.js";

describe("parseCniArgs", () => {
  it("parses known keys and the runtime's well-known ones", () => {
    const m = parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.0.0.5", ["IP"]);
    expect(m.get("IP")).toBe("10.0.0.5");
    expect(m.get("K8S_POD_NAME")).toBe("p");
  });

  it("ignores unknown keys only with IgnoreUnknown=1 or true", () => {
    expect([...parseCniArgs("FOO=bar;IgnoreUnknown=true").keys()]).toEqual(["IgnoreUnknown"]);
    expect(() => parseCniArgs("FOO=bar")).toThrowError(/ARGS: unknown args \[FOO\]/);
    expect(() => parseCniArgs("FOO=bar;IgnoreUnknown=0")).toThrowError(/unknown args/);
  });

  it("matches keys case-sensitively like Go struct fields", () => {
    expect(() => parseCniArgs("ip=10.0.0.5", ["IP"])).toThrowError(/unknown args \[ip\]/);
  });

  it("rejects a pair without exactly one '=' (including a trailing ';')", () => {
    expect(() => parseCniArgs("A=1;", ["A"])).toThrowError(/ARGS: invalid pair ""/);
    expect(() => parseCniArgs("A=1=2", ["A"])).toThrowError(/invalid pair "A=1=2"/);
    expect(() => parseCniArgs("A", ["A"])).toThrowError(/invalid pair "A"/);
  });

  it("returns nothing for an empty string", () => {
    expect(parseCniArgs("").size).toBe(0);
  });
});
