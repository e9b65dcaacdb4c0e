import { readFileSync } from "node:fs";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Dns } from "../../shared/cni/result.js";

/**
 * The result's dns from a resolv.conf, as upstream reads it: nameserver (one per line),
 * domain (the last one wins), search and options (all words, accumulated); '#' and ';' start
 * comments; other lines are ignored.
 */
export function parseResolvConf(text: string): Dns {
  const dns: Dns = {};
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, first] = fields as [string, string];
    switch (key) {
      case "nameserver":
        (dns.nameservers ??= []).push(first);
        break;
      case "domain":
        dns.domain = first;
        break;
      case "search":
        (dns.search ??= []).push(...fields.slice(1));
        break;
      case "options":
        (dns.options ??= []).push(...fields.slice(1));
        break;
    }
  }
  return dns;
}

export function readResolvConf(path: string): Dns {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CniError(
      ErrorCode.IoFailure,
      `open ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`,
      "ipam.resolvConf names a file that cannot be read",
    );
  }
  return parseResolvConf(text);
}
