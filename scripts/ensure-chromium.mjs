// Before `npm test`: the browser tests (test/browser/) drive Debian's chromium through puppeteer-core,
// which never downloads a browser. On a fresh Debian/Ubuntu machine where we are root, install it with
// apt, as .ci/run does; elsewhere say how to get one (the browser tests then fail with that message).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

const chromium = process.env.POOLKIT_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromium)) {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const apt = existsSync("/usr/bin/apt-get");
  if (root && apt && !process.env.POOLKIT_CHROMIUM) {
    console.error("poolkit: the browser tests need chromium; installing Debian's package (apt-get install -y chromium)");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const run = (args) => spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env }).status === 0;
    if (!(run(["update", "-qq"]) && run(["install", "-y", "-qq", "chromium"]))) {
      console.error("poolkit: apt-get could not install chromium; the browser tests will fail");
    }
  } else {
    console.error(
      `poolkit: no chromium at ${chromium}; the browser tests will fail. Install Debian's chromium ` +
        "(apt-get install -y chromium) or point POOLKIT_CHROMIUM at a Chromium binary.",
    );
  }
}
