/** `poolkit serve <dir>`: a tiny static file server on 127.0.0.1 for the playground. */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
};

/** Resolve a URL path inside `root`, or null when it would escape it (`/../`). */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0] ?? "/");
  } catch {
    return null;
  }
  const full = resolve(join(root, decoded));
  const base = resolve(root);
  return full === base || full.startsWith(base + sep) ? full : null;
}

/** Start serving `dir`; resolves once listening (port 0 picks a free port: read `server.address()`). */
export async function serveStatic(dir: string, port: number): Promise<Server> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`serve: ${JSON.stringify(dir)} is not a directory`);
  const server = createServer((req, res) => {
    void (async () => {
      let file = resolveInside(root, req.url ?? "/");
      if (!file) {
        res.writeHead(403).end("forbidden");
        return;
      }
      const st = await stat(file).catch(() => null);
      if (st?.isDirectory()) file = join(file, "index.html");
      try {
        const body = await readFile(file);
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
        res.end(body);
      } catch {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      }
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => ok());
  });
  return server;
}
