// Test support: a real `galleon serve` on a free loopback port with its own data directory,
// and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, mkdirSync, writeFileSync, truncateSync, openSync, writeSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import https from "node:https";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
// Screenshots go to target/ unless asked (PORTAL_SCREENSHOTS=docs/screenshots refreshes the README's).
export const SHOTS = process.env.PORTAL_SCREENSHOTS || join(root, "target/portal-screenshots");

async function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

function get(url, ca) {
  return new Promise((ok, fail) => {
    https.get(url, { ca }, (r) => { r.resume(); r.on("end", () => ok(r.statusCode)); }).on("error", fail);
  });
}

/** Starts galleon; returns { url, creds, dir, stop }. */
export async function startGalleon() {
  const dir = mkdtempSync(join(tmpdir(), "galleon-portal-"));
  const port = await freePort();
  const bin = process.env.GALLEON_BIN || join(root, "target/debug/galleon");
  const proc = spawn(bin, ["serve", "--data-dir", join(dir, "data"), "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  let log = "";
  proc.stdout.on("data", (d) => { log += d; });
  proc.stderr.on("data", (d) => { log += d; });
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const ca = readFileSync(join(dir, "data/tls/ca.crt"));
      if ((await get(`${url}/healthz`, ca)) === 200) break;
    } catch { /* not up yet */ }
    if (i > 300 || proc.exitCode !== null) throw new Error(`galleon did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const creds = JSON.parse(readFileSync(join(dir, "data/credentials.json"), "utf8"));
  return {
    url, creds, dir, log: () => log,
    stop: async () => { proc.kill("SIGTERM"); await new Promise((r) => proc.once("exit", r)); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Headless Chromium (Debian's), with no background networking: the machine's network is closed. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/** A fixed VHD made by qemu-img from a sparse raw image with scattered random bytes. */
export function makeVhd(dir, name, mib) {
  const raw = join(dir, `${name}.raw`), vhd = join(dir, `${name}.vhd`);
  writeFileSync(raw, "");
  truncateSync(raw, mib * 1048576);
  const fd = openSync(raw, "r+");
  for (let i = 0; i < 8; i++) {
    const buf = Buffer.alloc(65536, 0);
    for (let j = 0; j < buf.length; j++) buf[j] = (i * 131 + j * 7) & 0xff || 1;
    writeSync(fd, buf, 0, buf.length, Math.floor((i * (mib * 1048576 - 65536)) / 8 / 4096) * 4096);
  }
  closeSync(fd);
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, vhd]);
  rmSync(raw);
  return vhd;
}

export function shotsDir() {
  mkdirSync(SHOTS, { recursive: true });
  return SHOTS;
}

/** On failure, what the page shows (its error banners) helps more than a timeout. */
export async function pageErrors(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll(".banner.error, .error")).map((e) => e.textContent).filter(Boolean).join(" | "));
}
