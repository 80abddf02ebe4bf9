/**
 * `poolkit serve` probed as a hostile page or a careless folder would: links out of the folder, a
 * link to /dev/zero, a FIFO, a socket, methods other than GET/HEAD, foreign Host headers (DNS
 * rebinding), traversal in every spelling. Every probe is a real HTTP request to a real server on
 * 127.0.0.1 (port 0), bounded by a timeout and a body cap, and every server is stopped at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { closeSync, constants as fsc, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { request, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveStatic } from "../../src/cli/serve.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Largest body a probe accepts: a refusal is a line of text, and no served test file is bigger. */
const BODY_CAP = 4 << 20;

/**
 * One raw HTTP/1.1 request (node:http, so the Host header and the path go out exactly as given),
 * aborted after `ms` and when the body passes BODY_CAP, so a hanging or endless answer fails the
 * test instead of hanging it or filling memory.
 */
function probe(port: number, path: string, opts: { method?: string; host?: string; ms?: number } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: opts.method ?? "GET",
        headers: { host: opts.host ?? `127.0.0.1:${port}`, connection: "close" },
        signal: AbortSignal.timeout(opts.ms ?? 5000),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > BODY_CAP) {
            req.destroy(new Error(`${path}: body larger than ${BODY_CAP} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", fail);
      },
    );
    req.on("error", fail);
    req.end();
  });
}

/** What every response must carry, errors included. */
function expectHardened(r: Reply): void {
  expect(r.headers["content-type"]).toMatch(/^[a-z]+\/[a-z0-9.+-]+/);
  expect(r.headers["x-content-type-options"]).toBe("nosniff");
  expect(r.headers["cross-origin-opener-policy"]).toBe("same-origin");
  expect(r.headers["cross-origin-embedder-policy"]).toBe("require-corp");
  expect(r.headers["cross-origin-resource-policy"]).toBe("same-origin");
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
}

let dir: string;
let root: string;
let fifo: string;
let socketServer: NetServer;
let server: Server;
let port: number;
const SECRET = "top secret, outside the served folder\n";
const BIG = Buffer.alloc(3 << 20, 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "poolkit-serve-"));
  writeFileSync(join(dir, "secret.txt"), SECRET);
  root = join(dir, "site");
  mkdirSync(join(root, "sub"), { recursive: true });
  mkdirSync(join(root, "empty"));
  writeFileSync(join(root, "index.html"), "<h1>hi</h1>");
  writeFileSync(join(root, "app.js"), "console.log(1)");
  writeFileSync(join(root, "sub", "index.html"), "<p>sub</p>");
  writeFileSync(join(root, "empty.txt"), "");
  for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(root, "big.bin"), BIG);
  symlinkSync("/etc/passwd", join(root, "passwd"));
  symlinkSync("/etc", join(root, "etc"));
  symlinkSync("../secret.txt", join(root, "secret.txt"));
  symlinkSync("/dev/zero", join(root, "zero"));
  symlinkSync("app.js", join(root, "inside-link.js"));
  symlinkSync("sub", join(root, "sub-link"));
  mkdirSync(join(root, "trap"));
  symlinkSync("../../secret.txt", join(root, "trap", "index.html"));
  fifo = join(root, "fifo");
  execFileSync("mkfifo", [fifo]);
  socketServer = createNetServer();
  await new Promise<void>((ok) => socketServer.listen(join(root, "sock"), ok));
  server = await serveStatic(root, 0);
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await stop(server);
  await new Promise((ok) => socketServer.close(ok));
  // If a reader is stuck on the FIFO (a server that opened it), release it before cleaning up.
  try {
    const fd = openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
    writeSync(fd, "x");
    closeSync(fd);
  } catch {
    // ENXIO: nobody has it open, which is what a correct server leaves behind.
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("poolkit serve: what it serves", () => {
  it("serves regular files on 127.0.0.1 with their type, nosniff and the cross-origin isolation headers", async () => {
    expect((server.address() as AddressInfo).address).toBe("127.0.0.1");
    const index = await probe(port, "/");
    expect(index.status).toBe(200);
    expectHardened(index);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.body.toString()).toBe("<h1>hi</h1>");
    const js = await probe(port, "/app.js?v=1");
    expect(js.status).toBe(200);
    expectHardened(js);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.body.toString()).toBe("console.log(1)");
    const empty = await probe(port, "/empty.txt");
    expect(empty.status).toBe(200);
    expectHardened(empty);
    expect(empty.body.length).toBe(0);
  });

  it("streams a multi-megabyte file byte for byte with its length", async () => {
    const r = await probe(port, "/big.bin");
    expect(r.status).toBe(200);
    expectHardened(r);
    expect(r.headers["content-type"]).toBe("application/octet-stream");
    expect(r.headers["content-length"]).toBe(String(BIG.length));
    expect(r.body.equals(BIG)).toBe(true);
  });

  it("follows links that stay inside the folder (file and directory)", async () => {
    const file = await probe(port, "/inside-link.js");
    expect(file.status).toBe(200);
    expectHardened(file);
    expect(file.body.toString()).toBe("console.log(1)");
    const sub = await probe(port, "/sub-link/");
    expect(sub.status).toBe(200);
    expectHardened(sub);
    expect(sub.body.toString()).toBe("<p>sub</p>");
  });

  it("HEAD answers the GET headers with no body", async () => {
    const get = await probe(port, "/app.js");
    const head = await probe(port, "/app.js", { method: "HEAD" });
    expect(head.status).toBe(200);
    expectHardened(head);
    expect(head.headers["content-type"]).toBe(get.headers["content-type"]);
    expect(head.headers["content-length"]).toBe(String("console.log(1)".length));
    expect(head.body.length).toBe(0);
    const missing = await probe(port, "/missing.txt", { method: "HEAD" });
    expect(missing.status).toBe(404);
    expectHardened(missing);
    expect(missing.body.length).toBe(0);
  });
});

describe("poolkit serve: links, devices, FIFOs, sockets", () => {
  it.each([
    ["/passwd", "a link to /etc/passwd"],
    ["/etc/passwd", "a file through a link to /etc"],
    ["/etc/hostname", "another file through a link to /etc"],
    ["/etc", "a link to the directory /etc"],
    ["/etc/", "a link to the directory /etc, with a slash"],
    ["/secret.txt", "a link to ../secret.txt"],
    ["/trap/", "a directory whose index.html links out of the folder"],
  ])("%s (%s) is refused with 403", async (path) => {
    const r = await probe(port, path);
    expect(r.status).toBe(403);
    expectHardened(r);
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(r.body.toString()).not.toContain("root:");
    expect(r.body.toString()).not.toContain(SECRET.trim());
  });

  it("a link to /dev/zero answers at once with a short 403 (nothing read from the device)", async () => {
    const r = await probe(port, "/zero", { ms: 5000 });
    expect(r.status).toBe(403);
    expectHardened(r);
    expect(r.body.length).toBeLessThan(200);
  });

  it("serving /dev itself still refuses its devices: they are not regular files", async () => {
    const devServer = await serveStatic("/dev", 0);
    try {
      const devPort = (devServer.address() as AddressInfo).port;
      for (const path of ["/zero", "/null", "/urandom"]) {
        const r = await probe(devPort, path);
        expect(r.status, path).toBe(403);
        expectHardened(r);
        expect(r.body.length).toBeLessThan(200);
      }
    } finally {
      await stop(devServer);
    }
  });

  it("a FIFO is refused without being opened: six requests to it, then a normal request still succeeds", async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => probe(port, "/fifo", { ms: 5000 })));
    for (const r of replies) {
      expect(r.status).toBe(403);
      expectHardened(r);
    }
    // Opening a FIFO with no writer blocks a libuv pool thread; with four of them stuck every
    // file request would hang. This one must come back.
    const after = await probe(port, "/app.js", { ms: 5000 });
    expect(after.status).toBe(200);
    expect(after.body.toString()).toBe("console.log(1)");
  });

  it("a Unix socket in the folder is refused with 403", async () => {
    const r = await probe(port, "/sock");
    expect(r.status).toBe(403);
    expectHardened(r);
  });

  it("a directory without index.html is 404 (no listing)", async () => {
    for (const path of ["/empty", "/empty/"]) {
      const r = await probe(port, path);
      expect(r.status, path).toBe(404);
      expectHardened(r);
      expect(r.body.toString()).toBe("not found\n");
    }
  });
});

describe("poolkit serve: traversal", () => {
  it.each([
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/sub/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/index.html%00.txt",
  ])("%s is refused with 403 and never shows the secret", async (path) => {
    const r = await probe(port, path);
    expect(r.status).toBe(403);
    expectHardened(r);
    expect(r.body.toString()).not.toContain(SECRET.trim());
  });

  it("double encoding is not decoded twice: /%252e%252e/secret.txt names a missing file", async () => {
    const r = await probe(port, "/%252e%252e/secret.txt");
    expect(r.status).toBe(404);
    expectHardened(r);
  });

  it("a malformed escape is refused with 403, and a non-path request target with 400", async () => {
    const bad = await probe(port, "/%E0%A4%A");
    expect(bad.status).toBe(403);
    expectHardened(bad);
    const absolute = await probe(port, `http://evil.example/app.js`);
    expect(absolute.status).toBe(400);
    expectHardened(absolute);
  });
});

describe("poolkit serve: methods and Host", () => {
  it.each(["POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS"])("%s is 405 with Allow: GET, HEAD", async (method) => {
    const r = await probe(port, "/index.html", { method });
    expect(r.status).toBe(405);
    expectHardened(r);
    expect(r.headers.allow).toBe("GET, HEAD");
    expect(r.body.toString()).not.toContain("<h1>hi</h1>");
  });

  it("accepts the Host names a browser on this machine sends", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const r = await probe(port, "/app.js", { host });
      expect(r.status, host).toBe(200);
    }
  });

  it.each([
    ["evil.example", "another name"],
    ["evil.example:PORT", "another name with the right port (DNS rebinding)"],
    ["localhost.evil.example:PORT", "a name that starts with localhost"],
    ["127.0.0.1", "the right address without the port"],
    ["127.0.0.1:OTHER", "the right address with another port"],
    ["localhost:OTHER", "localhost with another port"],
    ["0.0.0.0:PORT", "the wildcard address"],
  ])("Host %s (%s) is 403 for GET and HEAD", async (hostTemplate) => {
    const host = hostTemplate.replace("OTHER", String(port === 65535 ? 1 : port + 1)).replace("PORT", String(port));
    const r = await probe(port, "/index.html", { host });
    expect(r.status).toBe(403);
    expectHardened(r);
    expect(r.body.toString()).not.toContain("<h1>hi</h1>");
    const head = await probe(port, "/index.html", { host, method: "HEAD" });
    expect(head.status).toBe(403);
    expect(head.body.length).toBe(0);
  });
});
