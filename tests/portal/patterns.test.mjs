// Every name field's HTML `pattern`, as Chromium applies it, accepts exactly the names the API
// accepts: each candidate is typed into the real input (checkValidity) and sent to the ARM API
// (201/200 versus 400 InvalidResourceName / InvalidResourceGroupName).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startGalleon, launchBrowser } from "./support.mjs";

let galleon, browser, page, ca, token;

function call(method, path, body) {
  return new Promise((ok, fail) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const headers = { "content-type": body && typeof body === "string" ? "application/x-www-form-urlencoded" : "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (data) headers["content-length"] = data.length;
    const req = https.request(`${galleon.url}${path}`, { method, ca, headers }, (r) => {
      let text = "";
      r.on("data", (d) => { text += d; });
      r.on("end", () => ok({ status: r.statusCode, body: text ? JSON.parse(text) : null }));
    });
    req.on("error", fail);
    if (data) req.write(data);
    req.end();
  });
}

before(async () => {
  galleon = await startGalleon();
  ca = readFileSync(join(galleon.dir, "data/tls/ca.crt"));
  const c = galleon.creds;
  const form = `grant_type=client_credentials&client_id=${c.clientId}&client_secret=${encodeURIComponent(c.clientSecret)}&scope=${encodeURIComponent("https://management.azure.com/.default")}`;
  token = (await call("POST", `/${c.tenantId}/oauth2/v2.0/token`, form)).body.access_token;
  browser = await launchBrowser();
  page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await page.goto(`${galleon.url}/portal`);
  await page.fill("#client_id", c.clientId);
  await page.fill("#client_secret", c.clientSecret);
  await page.click("button[type=submit]");
  await page.waitForURL(/galleries/);
});

after(async () => {
  await browser?.close();
  await galleon?.stop();
});

/** What the input's pattern says of `name`. */
async function patternAccepts(selector, name) {
  return page.$eval(selector, (el, v) => { el.value = v; return el.checkValidity(); }, name);
}

const candidates = [
  "a", "rg-1", "my.group", "my_group", "a.b.c", "(x)", "Zz9", "1abc", "x".repeat(80), "x".repeat(81), "x".repeat(90),
  "x".repeat(91), "grupo_ñ", "группа", "日本語", "١٢٣", "a.", ".a", "-a", "a-", "_a", "a_", "a b", "a%b", "a#b", "a?b", "é",
];

async function agree(selector, put, created) {
  const disagreements = [];
  for (const name of candidates) {
    const browserSays = await patternAccepts(selector, name);
    const api = await put(encodeURIComponent(name));
    const apiSays = created.includes(api.status);
    if (api.status >= 500) throw new Error(`${name}: ${api.status} ${JSON.stringify(api.body)}`);
    if (browserSays !== apiSays) disagreements.push(`${name}: pattern ${browserSays}, API ${api.status} ${api.body?.error?.code ?? ""}`);
  }
  assert.deepEqual(disagreements, []);
}

const sub = () => galleon.creds.subscriptionId;
const RES = "api-version=2024-11-01", COMPUTE = "api-version=2024-03-03", DISKS = "api-version=2025-01-02";

test("resource group and gallery name patterns agree with the API", async () => {
  await page.goto(`${galleon.url}/portal/create/gallery`);
  await agree("#group", (n) => call("PUT", `/subscriptions/${sub()}/resourcegroups/${n}?${RES}`, { location: "eastus" }), [200, 201]);
  await call("PUT", `/subscriptions/${sub()}/resourcegroups/names?${RES}`, { location: "eastus" });
  await agree("#name", (n) => call("PUT", `/subscriptions/${sub()}/resourceGroups/names/providers/Microsoft.Compute/galleries/${n}?${COMPUTE}`, { location: "eastus" }), [200, 201]);
});

test("image definition and disk name patterns agree with the API", async () => {
  const gallery = `/subscriptions/${sub()}/resourceGroups/names/providers/Microsoft.Compute/galleries/defs`;
  assert.ok([200, 201].includes((await call("PUT", `${gallery}?${COMPUTE}`, { location: "eastus" })).status));
  await page.goto(`${galleon.url}/portal/create/definition?gallery=${encodeURIComponent(gallery)}`);
  let n = 0;
  await agree("#name", (name) => call("PUT", `${gallery}/images/${name}?${COMPUTE}`, { location: "eastus", properties: {
    osType: "Linux", osState: "Generalized", identifier: { publisher: "p", offer: "o", sku: `s${n++}` } } }), [200, 201]);
  await page.goto(`${galleon.url}/portal/upload`);
  await agree("#disk-name", (name) => call("PUT", `/subscriptions/${sub()}/resourceGroups/names/providers/Microsoft.Compute/disks/${name}?${DISKS}`,
    { location: "eastus", properties: { diskSizeGB: 1, creationData: { createOption: "Empty" } } }), [200, 201, 202]);
});
