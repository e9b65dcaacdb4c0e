import { type Ip, equal, next } from "../../shared/net/ip.js";
import { type Range, type RangeSet, rangeContains } from "./range.js";

export interface Candidate {
  readonly ip: Ip;
  readonly range: Range;
}

/**
 * Upstream's allocation order (RangeIter): start after the last reserved address when it lies in
 * the set, else at rangeStart of the first range; step by one, jump to the next range's start
 * after a rangeEnd (wrapping), skip each range's gateway, stop on coming back to the first
 * candidate. The last reserved address itself is therefore offered last.
 */
export function* roundRobin(set: RangeSet, lastReserved: Ip | undefined): Generator<Candidate> {
  let idx = 0;
  let cur: Ip | undefined;
  let startIp: Ip | undefined;
  const lastIdx = lastReserved ? set.findIndex((r) => rangeContains(r, lastReserved)) : -1;
  if (lastReserved && lastIdx >= 0) {
    idx = lastIdx;
    cur = lastReserved;
  } else {
    const r = set[0]!;
    cur = r.start;
    startIp = cur;
    if (!equal(cur, r.gateway)) yield { ip: cur, range: r };
  }
  for (;;) {
    let r = set[idx]!;
    if (equal(cur, r.end)) {
      idx = (idx + 1) % set.length;
      r = set[idx]!;
      cur = r.start;
    } else {
      cur = next(cur);
    }
    if (startIp === undefined) startIp = cur;
    else if (equal(cur, startIp)) return;
    if (equal(cur, r.gateway)) continue;
    yield { ip: cur, range: r };
  }
}
