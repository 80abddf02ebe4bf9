/**
 * `poolkit serve <dir>`: a small static file server on 127.0.0.1 for the playground.
 *
 * Hand-written rather than `send`/`serve-static`/`sirv`: those follow symbolic links out of the
 * served folder and open whatever `stat` reports (FIFOs, devices), which is what this server must
 * not do (test/cli/serve.test.ts runs the probes; the README's "Security of `poolkit serve`" says
 * more). What it guarantees:
 * - only regular files whose real path (every link resolved) lies inside the served folder's real
 *   path are served; a directory serves its `index.html` under the same rule, nothing is listed;
 * - FIFOs, sockets and devices are refused from `stat` before anything is opened, and the file is
 *   opened non-blocking without following a final link, then checked again on the open descriptor
 *   (same inode as checked, still a regular file), so a swap in between is refused, not served;
 * - the body is streamed from that descriptor, at most the size it had when checked;
 * - GET and HEAD only (405 with `Allow`); the `Host` header must name this server (localhost,
 *   127.0.0.1 or [::1] with its port), which defeats DNS rebinding; every response carries a
 *   Content-Type, `X-Content-Type-Options: nosniff` and the cross-origin isolation headers
 *   (COOP same-origin + COEP require-corp + CORP same-origin) that `SharedArrayBuffer` needs.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from "node:http";
import { constants as fsc } from "node:fs";
import { open, realpath, stat, type FileHandle } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { extname, join, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
};

/** Headers on every response, errors included. */
const COMMON: OutgoingHttpHeaders = {
  "x-content-type-options": "nosniff",
  // Cross-origin isolation (crossOriginIsolated === true), needed for SharedArrayBuffer.
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** Resolve a URL path inside `root` (by its text), or null when it would escape it (`/../`). */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split(/[?#]/)[0] ?? "/");
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const full = resolve(join(root, decoded));
  const base = resolve(root);
  return full === base || full.startsWith(base + sep) ? full : null;
}

/** True when `path` is `root` or lies below it (both already real, absolute paths). */
function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The Host values a browser sends for this server; anything else (DNS rebinding, proxies) is refused. */
function hostAllowed(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  for (const name of ["localhost", "127.0.0.1", "[::1]"]) {
    if (h === `${name}:${port}`) return true;
    // Browsers leave out the default port.
    if (port === 80 && h === name) return true;
  }
  return false;
}

class Refusal {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

/**
 * The open, checked regular file a URL path names, or a Refusal. Never opens anything that is not
 * a regular file inside `rootReal`.
 */
async function openChecked(rootText: string, rootReal: string, urlPath: string): Promise<{ handle: FileHandle; size: number; path: string } | Refusal> {
  const textual = resolveInside(rootText, urlPath);
  if (textual === null) return new Refusal(403, "forbidden");
  let real: string;
  try {
    real = await realpath(textual);
  } catch {
    return new Refusal(404, "not found");
  }
  if (!within(rootReal, real)) return new Refusal(403, "forbidden");
  let info = await stat(real).catch(() => null);
  if (info === null) return new Refusal(404, "not found");
  if (info.isDirectory()) {
    // The index may itself be a link: resolve and check it like any other file.
    try {
      real = await realpath(join(real, "index.html"));
    } catch {
      return new Refusal(404, "not found");
    }
    if (!within(rootReal, real)) return new Refusal(403, "forbidden");
    info = await stat(real).catch(() => null);
    if (info === null) return new Refusal(404, "not found");
  }
  // FIFOs, sockets, devices, directories: refused before any open (opening a FIFO blocks a thread).
  if (!info.isFile()) return new Refusal(403, "forbidden");
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO swapped in after the stat cannot block; O_NOFOLLOW: nor can a final link.
    handle = await open(real, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  } catch {
    return new Refusal(404, "not found");
  }
  const opened = await handle.stat().catch(() => null);
  if (opened === null || !opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
    await handle.close().catch(() => undefined);
    return new Refusal(403, "forbidden");
  }
  return { handle, size: opened.size, path: real };
}

function send(res: ServerResponse, status: number, message: string, headOnly: boolean, extra: OutgoingHttpHeaders = {}): void {
  const body = Buffer.from(`${message}\n`, "utf8");
  res.writeHead(status, { ...COMMON, "content-type": "text/plain; charset=utf-8", "content-length": body.length, ...extra });
  res.end(headOnly ? undefined : body);
}

async function handle(req: IncomingMessage, res: ServerResponse, rootText: string, rootReal: string, port: number): Promise<void> {
  const headOnly = req.method === "HEAD";
  if (!hostAllowed(req.headers.host, port)) {
    send(res, 403, "forbidden: the Host header must be localhost, 127.0.0.1 or [::1] with this server's port", headOnly);
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, "method not allowed: GET and HEAD only", false, { allow: "GET, HEAD" });
    return;
  }
  const url = req.url ?? "";
  if (!url.startsWith("/")) {
    send(res, 400, "bad request: the request target must be a path", headOnly);
    return;
  }
  const found = await openChecked(rootText, rootReal, url);
  if (found instanceof Refusal) {
    send(res, found.status, found.message, headOnly);
    return;
  }
  const { handle: fh, size, path } = found;
  try {
    res.writeHead(200, { ...COMMON, "content-type": TYPES[extname(path).toLowerCase()] ?? "application/octet-stream", "content-length": size });
    if (headOnly || size === 0) {
      res.end();
      return;
    }
    // Stream at most the size that was checked, whatever the file does meanwhile.
    await pipeline(fh.createReadStream({ start: 0, end: size - 1, autoClose: false }), res);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Start serving `dir` on 127.0.0.1; resolves once listening (port 0 picks a free port: read `server.address()`). */
export async function serveStatic(dir: string, port: number): Promise<Server> {
  const rootText = resolve(dir);
  const info = await stat(rootText).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`serve: ${JSON.stringify(dir)} is not a directory`);
  const rootReal = await realpath(rootText);
  let actualPort = port;
  const server = createServer((req, res) => {
    handle(req, res, rootText, rootReal, actualPort).catch(() => {
      if (!res.headersSent) send(res, 500, "internal error", req.method === "HEAD");
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => ok());
  });
  const addr = server.address();
  if (addr !== null && typeof addr === "object") actualPort = addr.port;
  return server;
}
