import * as z from "zod/mini";
import { describe, expect, it } from "vitest";
import { parseNetConfBytes, parseWith } from "./config.js";
import { foldName, matchGoKeys } from "./go-keys.js";
import { buildInvocation } from "./invocation.js";

// Each expectation below was measured with Go 1.19's encoding/json (Debian's oracle plugins are
// built with it); Go ≥ 1.21 folds the same way (foldName ≡ bytes.EqualFold).
const Inner = z.looseObject({ type: z.optional(z.string()), other: z.optional(z.string()) });
const Conf = z.looseObject({
  bridge: z.optional(z.string()),
  mac: z.optional(z.string()),
  MAC: z.optional(z.string()),
  ipam: z.optional(Inner),
  ptr: z.nullish(Inner),
  m: z.optional(z.record(z.string(), z.string())),
  l: z.optional(z.array(z.int())),
  list: z.optional(z.array(Inner)),
  free: z.optional(z.unknown()),
});
const match = (value: unknown) => matchGoKeys(Conf, value);

describe("matchGoKeys (Go's encoding/json key rule)", () => {
  it("matches a field ignoring ASCII case", () => {
    expect(match({ Bridge: "a", IPAM: { TYPE: "t" } })).toEqual({ bridge: "a", ipam: { type: "t" } });
  });

  it("folds KELVIN SIGN to k and LONG S to s, and nothing else beyond ASCII", () => {
    expect(foldName("\u212a\u017f")).toBe("KS");
    expect(match({ ipam: { "t\u0443pe": "cyrillic y", "\u017fomething": 1 } })).toEqual({
      ipam: { "t\u0443pe": "cyrillic y", "\u017fomething": 1 },
    });
    expect(match({ "p\u0422r": 1 })).toEqual({ "p\u0422r": 1 });
    // Dotted and dotless i are not in i's simple fold set.
    expect(match({ "\u0131pam": { type: "x" }, "\u0130PAM": { type: "y" } })).toEqual({
      "\u0131pam": { type: "x" },
      "\u0130PAM": { type: "y" },
    });
    const kelvin = z.looseObject({ macspoofchk: z.optional(z.boolean()), isGateway: z.optional(z.boolean()) });
    expect(matchGoKeys(kelvin, { "MAC\u017fPOOFCH\u212a": true, "i\u017fgateway": true })).toEqual({
      macspoofchk: true,
      isGateway: true,
    });
  });

  it("prefers the exact name, then the first field in declaration order", () => {
    expect(match({ MAC: "z" })).toEqual({ MAC: "z" });
    expect(match({ mAC: "w" })).toEqual({ mac: "w" });
    expect(match({ Mac: "y", MAC: "z" })).toEqual({ mac: "y", MAC: "z" });
  });

  it("lets the last of several keys for one field win, in document order", () => {
    expect(match({ Bridge: "a", bridge: "b" })).toEqual({ bridge: "b" });
    expect(match({ bridge: "b", BRIDGE: "a" })).toEqual({ bridge: "a" });
    expect(match({ l: [1, 2], L: [3] })).toEqual({ l: [3] });
    expect(match({ free: { a: 1 }, FREE: { b: 2 } })).toEqual({ free: { b: 2 } });
  });

  it("merges a second object into a struct or map field, as Go decodes into the existing value", () => {
    expect(match({ ipam: { type: "t" }, IPAM: { other: "o" } })).toEqual({ ipam: { type: "t", other: "o" } });
    expect(match({ ptr: { type: "t" }, Ptr: { other: "o" } })).toEqual({ ptr: { type: "t", other: "o" } });
    expect(match({ m: { a: "1" }, M: { b: "2" } })).toEqual({ m: { a: "1", b: "2" } });
    expect(match({ ptr: { type: "t" }, PTR: null })).toEqual({ ptr: null });
  });

  it("keeps map keys and untyped values as written; walks arrays of structs", () => {
    expect(match({ M: { Key: "v" }, Free: { Type: 1 } })).toEqual({ m: { Key: "v" }, free: { Type: 1 } });
    expect(match({ List: [{ Type: "a" }, { OTHER: "b" }] })).toEqual({ list: [{ type: "a" }, { other: "b" }] });
  });

  it("keeps unknown keys, a __proto__ key included, as data", () => {
    const out = match(JSON.parse('{"__proto__": {"polluted": true}, "Unknown": 1}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, "__proto__")).toBe(true);
    expect(out.Unknown).toBe(1);
    expect((out as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("is applied by parseWith, so every schema-validated config follows it", () => {
    expect(parseWith(Conf, { BRIDGE: "x", Ipam: { Type: "host-local" } }, "conf")).toMatchObject({
      bridge: "x",
      ipam: { type: "host-local" },
    });
  });
});

describe("the network config every plugin shares (loopback reads nothing else)", () => {
  it("reads Name, CNIVersion, RuntimeConfig and PrevResult in any case, and keeps the raw object as sent", () => {
    const sent = {
      CNIVersion: "1.0.0",
      Name: "net1",
      RuntimeConfig: { portMappings: [] },
      PrevResult: { CNIVersion: "1.0.0", IPs: [{ Address: "10.1.0.5/24", Gateway: "10.1.0.1" }] },
    };
    const { raw, conf } = parseNetConfBytes(Buffer.from(JSON.stringify(sent)));
    expect(raw).toEqual(sent);
    expect(conf).toMatchObject({ cniVersion: "1.0.0", name: "net1", runtimeConfig: { portMappings: [] } });
    const env = {
      command: "ADD",
      containerId: "c1",
      netns: "",
      ifname: "eth0",
      args: "",
      path: [],
      netnsOverride: false,
    };
    const inv = buildInvocation("ADD", env, Buffer.from(JSON.stringify(sent)), {});
    expect(inv.cniVersion).toBe("1.0.0");
    expect(inv.prevResult()?.ips).toEqual([{ address: "10.1.0.5/24", gateway: "10.1.0.1" }]);
  });
});
