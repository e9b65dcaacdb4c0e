import { describe, expect, it } from "vitest";
import { type Side, type SideId, sideOrder } from "./measure.js";

const side = (id: SideId) => ({ id }) as Side;

describe("sideOrder", () => {
  it("rotates which side goes first, round by round", () => {
    const sides = { reference: side("reference"), ours: side("ours"), resident: side("resident") };
    const order = (r: number) => sideOrder(sides, r).map((s) => s.id);
    expect(order(0)).toEqual(["reference", "ours", "resident"]);
    expect(order(1)).toEqual(["ours", "resident", "reference"]);
    expect(order(2)).toEqual(["resident", "reference", "ours"]);
    expect(order(3)).toEqual(order(0));
    // Two sides: the reference first on even rounds, as before the resident side existed.
    const two = { reference: side("reference"), ours: side("ours") };
    expect(sideOrder(two, 1).map((s) => s.id)).toEqual(["ours", "reference"]);
  });
});
