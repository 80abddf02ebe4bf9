/**
 * What every browser test needs: Debian's chromium (never a downloaded one), the project's own
 * `poolkit serve` on a free port, and a page whose console errors, page errors and failed requests
 * are collected. Used by playground.test.ts and wasm.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export const root = join(__dirname, "..", "..");
export const CHROMIUM = process.env.POOLKIT_CHROMIUM ?? "/usr/bin/chromium";

/** Fail (never skip) when the browser or the build is missing, saying how to get it. */
export function requireBrowserAndBuild(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser test needs Debian's chromium at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\` (as .ci/run does), or set POOLKIT_CHROMIUM to a Chromium binary`);
  }
  if (!existsSync(join(root, "dist", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
}

/** `poolkit serve <site> --port 0`, as a user starts it; resolves with the base URL it announces. */
export async function startServe(site: string): Promise<{ server: ChildProcess; base: string }> {
  const server = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "serve", site, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const base = await new Promise<string>((ok, fail) => {
    // Read whole lines only (a chunk may end mid-line) and take the port from serve's own announcement,
    // `serving <dir> at http://127.0.0.1:<port>/ (Ctrl-C to stop)` (src/cli/commands.ts), so no other
    // output that mentions an address can be mistaken for it; the port must be the one the OS chose.
    let out = "";
    let err = "";
    let pending = "";
    const timer = setTimeout(() => fail(new Error(`poolkit serve did not say where it listens: ${out}${err}`)), 10_000);
    server.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    server.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, "");
        pending = pending.slice(nl + 1);
        const m = /^serving .+ at (http:\/\/127\.0\.0\.1:(\d+)\/) \(Ctrl-C to stop\)$/.exec(line);
        if (m && Number(m[2]) > 0 && Number(m[2]) < 65536) {
          clearTimeout(timer);
          ok(m[1] as string);
        }
      }
    });
    server.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`poolkit serve exited (${code}): ${out}${err}`));
    });
  });
  return { server, base };
}

/** Headless chromium with the flags this machine needs (no background networking) and a fresh profile. */
export function launchChromium(profileDir: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profileDir,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Collect the page's console errors, uncaught errors and failed requests into `problems`. */
export function watchProblems(page: Page, problems: string[]): void {
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${String(err)}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
}
