import { describe, expect, it } from "vitest";
import { DEFAULT_SOCKET, residentSocket } from "./protocol.js";

describe("which resident service socket a plugin uses", () => {
  it("is the node's default unless CNI_TS_SOCKET names another or none", () => {
    expect(residentSocket({})).toBe(DEFAULT_SOCKET);
    expect(residentSocket({ CNI_TS_SOCKET: "/tmp/x/plugins.sock" })).toBe("/tmp/x/plugins.sock");
    expect(residentSocket({ CNI_TS_SOCKET: "off" })).toBeUndefined();
    expect(residentSocket({ CNI_TS_SOCKET: "" })).toBeUndefined();
  });
});
