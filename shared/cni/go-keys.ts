/**
 * Go's encoding/json rule for object keys, applied to every config before its zod schema sees it:
 * the upstream plugins decode configs into Go structs, and a key names the field whose JSON name
 * it equals exactly, else the first field (in declaration order) it equals under Unicode case
 * folding (bytes.EqualFold). Keys naming no field are kept (loose objects ignore or pass them on).
 * When several keys name one field the last wins, and an object decoded into a struct or map
 * field that already holds one merges into it, as Go decodes into the existing value. Keys inside
 * maps (z.record) and untyped values (z.unknown) are not fields: they stay exactly as written.
 * Where this differs from Go (duplicate keys only): docs/parity.md.
 */
import type * as z from "zod/mini";
import { isPlainObject } from "../sys/plain-object.js";

type Schema = z.ZodMiniType;

/** The parts of zod's schema definitions the walk needs. */
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  in?: Schema;
  element?: Schema;
  valueType?: Schema;
}

const defOf = (schema: Schema): Def => schema._zod.def as unknown as Def;

/** Wrappers whose value is decoded as their inner type (Go: pointers, omitempty). */
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

function unwrap(schema: Schema): Def {
  let def = defOf(schema);
  for (;;) {
    if (WRAPPERS.has(def.type) && def.innerType) def = defOf(def.innerType);
    else if (def.type === "pipe" && def.in) def = defOf(def.in);
    else return def;
  }
}

/**
 * A key folded as Go folds field names: ASCII letters upper-cased, and the two non-ASCII runes
 * whose fold set holds an ASCII letter mapped to it: U+212A KELVIN SIGN (k) and U+017F LONG S (s).
 * Every field name we declare is ASCII, so no other rune can take part in a match.
 */
export function foldName(key: string): string {
  let out = "";
  for (const ch of key) {
    if (ch === "\u212a") out += "K";
    else if (ch === "\u017f") out += "S";
    else out += ch >= "a" && ch <= "z" ? ch.toUpperCase() : ch;
  }
  return out;
}

interface FieldIndex {
  exact: ReadonlySet<string>;
  folded: ReadonlyMap<string, string>;
}

const indexes = new WeakMap<object, FieldIndex>();

function fieldIndex(shape: Record<string, Schema>): FieldIndex {
  let index = indexes.get(shape);
  if (!index) {
    const folded = new Map<string, string>();
    for (const name of Object.keys(shape)) if (!folded.has(foldName(name))) folded.set(foldName(name), name);
    index = { exact: new Set(Object.keys(shape)), folded };
    indexes.set(shape, index);
  }
  return index;
}

/** `value` with every key that names a field of `schema` (at any depth) renamed to that field. */
export function matchGoKeys(schema: Schema, value: unknown): unknown {
  const def = unwrap(schema);
  if (def.type === "array" && def.element && Array.isArray(value)) {
    const element = def.element;
    return value.map((v) => matchGoKeys(element, v));
  }
  if (def.type === "record" && def.valueType && isPlainObject(value)) {
    const valueType = def.valueType;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, matchGoKeys(valueType, v)]));
  }
  if (def.type === "object" && def.shape && isPlainObject(value)) return matchFields(def.shape, value);
  return value;
}

function matchFields(shape: Record<string, Schema>, obj: Record<string, unknown>): Record<string, unknown> {
  const { exact, folded } = fieldIndex(shape);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(obj)) {
    const name = exact.has(key) ? key : folded.get(foldName(key));
    if (name === undefined) {
      setOwn(out, key, raw);
      continue;
    }
    const field = shape[name]!;
    const value = matchGoKeys(field, raw);
    setOwn(out, name, Object.hasOwn(out, name) ? decodeInto(field, out[name], value) : value);
  }
  return out;
}

/** Defines an own property, so that a key such as "__proto__" stays data, as JSON.parse made it. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A second value for a field already set: objects merge into structs and maps, anything else replaces. */
function decodeInto(schema: Schema, current: unknown, next: unknown): unknown {
  if (!isPlainObject(current) || !isPlainObject(next)) return next;
  const def = unwrap(schema);
  if (def.type === "record") return { ...current, ...next };
  if (def.type !== "object" || !def.shape) return next;
  const out = { ...current };
  for (const [k, v] of Object.entries(next)) {
    const field = Object.hasOwn(def.shape, k) ? def.shape[k] : undefined;
    setOwn(out, k, field && Object.hasOwn(out, k) ? decodeInto(field, out[k], v) : v);
  }
  return out;
}
