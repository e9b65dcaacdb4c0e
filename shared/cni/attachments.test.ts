import { describe, expect, it } from "vitest";
import { attachmentsJson, isValidAttachment, validAttachments } from "./attachments.js";
import { cniErrorOf } from "../../conformance-tests/lib/unit/cni-error.js";

describe("validAttachments", () => {
  const list = [{ containerID: "c1", ifname: "eth0" }];

  it("reads the spec key and the draft key libcni also sends", () => {
    expect(validAttachments({ "cni.dev/valid-attachments": list })).toEqual([{ containerId: "c1", ifname: "eth0" }]);
    expect(validAttachments({ "cni.dev/attachments": list })).toEqual([{ containerId: "c1", ifname: "eth0" }]);
  });

  it("tells an absent list (undefined) from an empty one", () => {
    expect(validAttachments({})).toBeUndefined();
    expect(validAttachments({ "cni.dev/valid-attachments": null })).toBeUndefined();
    expect(validAttachments({ "cni.dev/valid-attachments": [] })).toEqual([]);
  });

  it("refuses a malformed list with code 7 naming the key", () => {
    const err = cniErrorOf(() => validAttachments({ "cni.dev/valid-attachments": [{ containerID: 5 }] }));
    expect(err.code).toBe(7);
    expect(err.message).toMatch(/cni\.dev\/valid-attachments/);
  });

  it("round-trips to the wire form and matches by container and interface", () => {
    const valid = validAttachments({ "cni.dev/valid-attachments": list })!;
    expect(attachmentsJson(valid)).toEqual(list);
    expect(isValidAttachment(valid, "c1", "eth0")).toBe(true);
    expect(isValidAttachment(valid, "c1")).toBe(true);
    expect(isValidAttachment(valid, "c1", "net1")).toBe(false);
    expect(isValidAttachment(valid, "c2")).toBe(false);
  });
});
