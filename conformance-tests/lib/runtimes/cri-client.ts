/**
 * A minimal CRI client (runtime.v1.RuntimeService over gRPC on a unix socket) for the containerd
 * test: node:http2 plus the few protobuf messages a pod sandbox needs, encoded by hand, so the
 * harness needs no gRPC package (Debian has no crictl). Field numbers are those of
 * k8s.io/cri-api's api.proto.
 */
import { connect as netConnect } from "node:net";
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";

// ---- protobuf wire format -------------------------------------------------------------------

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

function field(no: number, wireType: 0 | 2, payload: Buffer): Buffer {
  const key = varint((no << 3) | wireType);
  return wireType === 0 ? Buffer.concat([key, payload]) : Buffer.concat([key, varint(payload.length), payload]);
}

const str = (no: number, s: string): Buffer => (s === "" ? Buffer.alloc(0) : field(no, 2, Buffer.from(s, "utf8")));
const msg = (no: number, body: Buffer): Buffer => field(no, 2, body);
const uint = (no: number, n: number): Buffer => (n === 0 ? Buffer.alloc(0) : field(no, 0, varint(n)));
/** map<string,string>: a repeated entry message {key = 1; value = 2}. */
const map = (no: number, m: Record<string, string>): Buffer =>
  Buffer.concat(Object.entries(m).map(([k, v]) => msg(no, Buffer.concat([str(1, k), str(2, v)]))));

/** The string fields (wire type 2) of a message by number, first occurrence (enough for ids). */
function readStrings(buf: Buffer): Map<number, string> {
  const out = new Map<number, string>();
  let i = 0;
  const readVarint = (): bigint => {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(readVarint());
    const [no, type] = [key >> 3, key & 7];
    if (type === 0) readVarint();
    else if (type === 2) {
      const len = Number(readVarint());
      if (!out.has(no)) out.set(no, buf.subarray(i, i + len).toString("utf8"));
      i += len;
    } else if (type === 1) i += 8;
    else if (type === 5) i += 4;
    else throw new Error(`protobuf wire type ${type} not handled`);
  }
  return out;
}

// ---- gRPC over HTTP/2 -------------------------------------------------------------------------

export interface PodSandboxSpec {
  name: string;
  uid: string;
  namespace: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  portMappings?: Array<{ containerPort: number; hostPort: number }>;
}

export class CriClient {
  private readonly session: ClientHttp2Session;

  constructor(socket: string) {
    this.session = http2Connect("http://localhost", { createConnection: () => netConnect(socket) });
    this.session.on("error", () => {});
  }

  close(): void {
    this.session.close();
  }

  private call(method: string, body: Buffer, timeoutMs = 120_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = this.session.request({
        ":method": "POST",
        ":path": `/runtime.v1.RuntimeService/${method}`,
        "content-type": "application/grpc",
        te: "trailers",
      });
      const timer = setTimeout(() => req.close(), timeoutMs);
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = "";
      const take = (h: Record<string, unknown>) => {
        if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
        if (h["grpc-message"] !== undefined) message = decodeURIComponent(String(h["grpc-message"]));
      };
      req.on("response", take);
      req.on("trailers", take);
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.on("close", () => {
        clearTimeout(timer);
        if (status !== "0") return reject(new Error(`CRI ${method}: grpc-status ${status ?? "none"} ${message}`));
        const data = Buffer.concat(chunks);
        resolve(data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : Buffer.alloc(0));
      });
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(body.length, 1);
      req.end(Buffer.concat([frame, body]));
    });
  }

  async version(): Promise<string> {
    const r = readStrings(await this.call("Version", str(1, "v1"), 5000));
    return `${r.get(2) ?? "?"} ${r.get(3) ?? "?"}`;
  }

  /** RunPodSandbox: returns the sandbox id (the CNI_CONTAINERID the plugins get). */
  async runPodSandbox(spec: PodSandboxSpec): Promise<string> {
    const metadata = Buffer.concat([str(1, spec.name), str(2, spec.uid), str(3, spec.namespace), uint(4, 0)]);
    const ports = (spec.portMappings ?? []).map((p) =>
      msg(5, Buffer.concat([uint(2, p.containerPort), uint(3, p.hostPort)])),
    );
    const config = Buffer.concat([
      msg(1, metadata),
      str(2, spec.name),
      ...ports,
      map(6, spec.labels ?? {}),
      map(7, spec.annotations ?? {}),
      msg(8, Buffer.alloc(0)),
    ]);
    const r = readStrings(await this.call("RunPodSandbox", msg(1, config)));
    const id = r.get(1);
    if (!id) throw new Error("RunPodSandbox returned no sandbox id");
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call("StopPodSandbox", str(1, id));
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call("RemovePodSandbox", str(1, id));
  }
}
