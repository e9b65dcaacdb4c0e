import { describe, expect, it } from "vitest";
import { DEFAULT_SOCKET, LineReader, residentSocket } from "./protocol.js";

describe("which resident service socket a plugin uses", () => {
  it("is the node's default unless CNI_TS_SOCKET names another or none", () => {
    expect(residentSocket({})).toBe(DEFAULT_SOCKET);
    expect(residentSocket({ CNI_TS_SOCKET: "/tmp/x/plugins.sock" })).toBe("/tmp/x/plugins.sock");
    expect(residentSocket({ CNI_TS_SOCKET: "off" })).toBeUndefined();
    expect(residentSocket({ CNI_TS_SOCKET: "" })).toBeUndefined();
  });
});

describe("reading the service's lines", () => {
  it("keeps a character split across two reads whole and holds a line until its newline", () => {
    const bytes = Buffer.from('{"msg":"netz-ü"}\n{"b":1}\n{"c"', "utf8");
    const split = bytes.indexOf(Buffer.from("ü")) + 1; // inside the two bytes of ü
    const r = new LineReader();
    expect(r.push(bytes.subarray(0, split))).toEqual([]);
    expect(r.push(bytes.subarray(split))).toEqual(['{"msg":"netz-ü"}', '{"b":1}']);
    expect(r.buffered).toBe(4);
    expect(r.push(Buffer.from(":2}\n"))).toEqual(['{"c":2}']);
  });
});
