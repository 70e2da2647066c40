// The seed's portal flows in a real browser: sign in, create a gallery, upload a VHD into a
// disk, add an image definition (with an inline validation error first), create a version
// from the disk with a Replication tab, watch its regions reach Completed, update it, be
// refused deleting a definition that has versions, and use the pages at phone width.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startGalleon, launchBrowser, makeVhd, shotsDir, pageErrors } from "./support.mjs";

let galleon, browser, page;
const scriptErrors = [];
const shots = shotsDir();
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

before(async () => {
  galleon = await startGalleon();
  browser = await launchBrowser();
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  // Records what the version page's polling writes into its progress bars (after parsing).
  await context.addInitScript(() => {
    window.seen = [];
    new MutationObserver((records) => {
      if (document.readyState === "loading") return;
      if (!records.some((r) => r.target.closest && r.target.closest("#replication"))) return;
      window.seen.push(Array.from(document.querySelectorAll("#replication li")).map((li) => `${li.dataset.region}:${li.querySelector("progress").value}`).join(","));
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  page = await context.newPage();
  // A script error fails the test that caused it, with its message.
  page.on("pageerror", (e) => { scriptErrors.push(e.message); });
  page.setDefaultTimeout(20000);
});

afterEach(() => {
  assert.deepEqual(scriptErrors.splice(0), [], "the page's script threw");
});

after(async () => {
  await browser?.close();
  await galleon?.stop();
});

async function signIn(secret = galleon.creds.clientSecret) {
  await page.goto(`${galleon.url}/portal`);
  await page.fill("#client_id", galleon.creds.clientId);
  await page.fill("#client_secret", secret);
  await page.click("button[type=submit]");
}

test("sign in: a wrong secret is refused, the right one opens the galleries blade", async () => {
  await signIn("not-the-secret");
  await page.waitForSelector("#signin-error");
  assert.match(await page.textContent("#signin-error"), /not valid/);
  await shot("signin");
  await signIn();
  await page.waitForURL(/\/portal\/galleries/);
  assert.equal(await page.textContent("h1"), "Azure Compute Galleries");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "galleon_portal");
  assert.ok(session && session.httpOnly && session.secure && session.sameSite === "Strict", JSON.stringify(cookies));
});

test("create a gallery, find it with the search box", async () => {
  await page.click("text=+ Create");
  await page.fill("#group", "myResourceGroup");
  await page.fill("#name", "myGallery");
  await page.selectOption("#location", "westcentralus");
  await page.fill("#description", "Golden images <b>for</b> everyone");
  await page.click("button:has-text('Create')");
  await page.waitForURL(/galleries\/myGallery$/);
  // User text is escaped, never markup.
  assert.match(await page.textContent(".essentials"), /Golden images <b>for<\/b> everyone/);
  await page.fill("#top-q", "mygal");
  await page.press("#top-q", "Enter");
  await page.waitForSelector("#galleries");
  assert.equal(await page.locator("#galleries tbody tr").count(), 1);
  await shot("galleries");
  await page.goto(`${galleon.url}/portal/galleries?q=nothing-like-it`);
  assert.match(await page.textContent(".empty"), /No gallery matches/);
});

test("upload a VHD from the browser into a managed disk", async () => {
  const vhd = makeVhd(galleon.dir, "golden", 24);
  await page.goto(`${galleon.url}/portal/upload`);
  await page.fill("#disk-name", "golden-os");
  await page.selectOption("#location", "westcentralus");
  await page.selectOption("#osType", "Linux");
  await page.setInputFiles("#vhd-file", vhd);
  await shot("upload");
  await page.click("button:has-text('Upload')");
  await Promise.race([page.waitForURL(/disks\/golden-os$/), page.waitForSelector("#upload-error:not([hidden])")]);
  assert.match(page.url(), /disks\/golden-os$/, await pageErrors(page));
  const essentials = await page.textContent(".essentials");
  assert.match(essentials, /Unattached/);
  assert.match(essentials, /Digest[0-9a-f]{64}/);
});

test("add an image definition: an inline error before submit, then review and create", async () => {
  await page.goto(`${galleon.url}/portal/galleries`);
  await page.click("#galleries a:has-text('myGallery')");
  await page.click("summary:has-text('+ Add')");
  await page.click("text=VM image definition");
  await page.fill("#name", "my image!");
  await page.fill("#publisher", "myPublisher");
  await page.fill("#offer", "myOffer");
  await page.fill("#sku", "mySKU");
  await page.click("button[data-step=review]");
  await page.waitForSelector("#name-error:not(:empty)");
  assert.match(await page.textContent("#name-error"), /required format/);
  assert.equal(await page.getAttribute("#name", "aria-invalid"), "true");
  await shot("definition-invalid");
  await page.fill("#name", "myImageDefinition");
  await page.selectOption("#osType", "Linux");
  await page.selectOption("#hyperVGeneration", "V1");
  await page.selectOption("#osState", "Generalized");
  await page.click("button[data-step=review]");
  await page.waitForSelector("[data-panel=review]:not([hidden])");
  assert.match(await page.textContent("[data-summary]"), /myPublisher/);
  await page.click("button[data-step=create]");
  await page.waitForURL(/images\/myImageDefinition$/);
  assert.match(await page.textContent(".essentials"), /Generalized/);
  await shot("definition");
});

test("create a version: a server-side error shown on its field, then replication to Completed", async () => {
  await page.click("text=+ Create a version");
  await page.selectOption("#location", "westcentralus");
  await page.fill("#name", "1.0.0");
  await page.selectOption("#sourceType", "disk");
  await page.selectOption("#osDisk", { label: "golden-os (disk, westcentralus)" });
  await page.fill("#endOfLifeDate", "2001-01-01");
  await page.click("[data-tab=replication]");
  await page.selectOption("#storageAccountType", "Standard_LRS");
  await page.fill("#replicaCount", "1");
  await page.click("text=+ Add target region");
  await page.locator("#target-regions tbody tr").nth(1).locator("select[name=regionName]").selectOption("eastus");
  await page.locator("#target-regions tbody tr").nth(1).locator("input[name=regionCount]").fill("2");
  await page.click("text=+ Add target region");
  await page.locator("#target-regions tbody tr").nth(2).locator("select[name=regionName]").selectOption("southcentralus");
  await page.locator("#target-regions tbody tr").nth(2).locator("select[name=regionStorage]").selectOption("Standard_ZRS");
  await shot("version-replication-tab");
  await page.click("button[data-step=review]");
  await page.click("button[data-step=create]");
  // ARM refuses a past end-of-life date; the form comes back with the error on that field.
  await page.waitForSelector("#endOfLifeDate-error:not(:empty)");
  assert.match(await page.textContent("#endOfLifeDate-error"), /future date/);
  assert.equal(await page.inputValue("#name"), "1.0.0");
  await shot("version-server-error");
  await page.fill("#endOfLifeDate", "2099-12-31");
  await page.click("[data-tab=replication]");
  await page.click("button[data-step=review]");
  // The review lists every tab's fields, the one not showing included.
  const summary = await page.textContent("[data-summary]");
  for (const expected of [/1\.0\.0/, /West Central US|westcentralus/, /golden-os/, /Standard_LRS/, /southcentralus/]) {
    assert.match(summary, expected);
  }
  await page.click("button[data-step=create]");
  await page.waitForURL(/versions\/1\.0\.0$/);
  assert.equal(await page.locator("#replication li[data-region]").count(), 3);
  const initial = await page.$$eval("#replication [data-state]", (els) => els.map((e) => e.dataset.state));
  // The bars are driven by the page's polling; wait for every region to finish.
  await page.waitForSelector("#aggregated [data-state=Completed]", { timeout: 60000 });
  await page.waitForFunction(() => window.seen.length > 0);
  const seen = await page.evaluate(() => window.seen);
  console.log(`replication as the page showed it: initially ${initial.join(" ")}; then ${seen.slice(0, 5).join(" | ")}`);
  for (const li of await page.locator("#replication li[data-region]").all()) {
    assert.equal(await li.locator("progress").getAttribute("value"), "100");
    assert.equal(await li.locator(".region-state [data-state]").getAttribute("data-state"), "Completed");
  }
  // Digest and size arrived with the polling, without a reload.
  assert.match(await page.textContent("#version-digest"), /^[0-9a-f]{64}$/);
  assert.match(await page.textContent("#version-size"), /GiB$/);
  assert.match(await page.textContent(".essentials"), /East US \(2 × Standard_LRS\)/);
  assert.match(await page.textContent(".essentials"), /South Central US \(1 × Standard_ZRS\)/);
  await shot("version");
});

test("update replication and exclude from latest", async () => {
  const rows = page.locator("#update #target-regions tbody tr");
  const n = await rows.count();
  for (let i = 0; i < n; i++) {
    if ((await rows.nth(i).locator("select[name=regionName]").inputValue()) === "southcentralus") {
      await rows.nth(i).locator("[data-remove-row]").click();
      break;
    }
  }
  await page.check("#update input[name=excludeFromLatest][value=true]");
  await page.check("#update input[name=allowDeletionOfReplicatedLocations]");
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/portal/update/version") && r.request().method() === "POST"),
    page.click("#update button:has-text('Save')"),
  ]);
  await page.waitForLoadState("load");
  await shot("version-updated");
  await page.waitForSelector("#aggregated [data-state=Completed]", { timeout: 60000 });
  const essentials = await page.textContent(".essentials");
  assert.doesNotMatch(essentials, /South Central US/);
  assert.match(essentials, /East US \(2 × Standard_LRS\)/);
  assert.match(essentials, /Exclude from latestYes/);
});

test("deleting a definition that has versions is refused with ARM's words", async () => {
  await page.click(".crumbs a:has-text('myImageDefinition')");
  await page.click("a:has-text('Delete')");
  await page.fill("#confirm", "myImageDefinition");
  await page.click("button:has-text('Delete')");
  await page.waitForSelector(".banner.error");
  assert.match(await page.textContent(".banner.error"), /nested resources|child/i);
  await shot("delete-refused");
});

test("keyboard and narrow windows", async () => {
  await page.goto(`${galleon.url}/portal/galleries`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ["/portal/galleries", "/portal/r" + (await versionId())]) {
    await page.goto(galleon.url + path);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} overflows a phone-width window by ${overflow}px`);
  }
  await shot("version-phone");
  await page.setViewportSize({ width: 1280, height: 800 });
});

async function versionId() {
  const sub = galleon.creds.subscriptionId;
  return `/subscriptions/${sub}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGallery/images/myImageDefinition/versions/1.0.0`;
}

test("share a gallery from its Sharing page, then stop sharing it", async () => {
  const sub = galleon.creds.subscriptionId;
  const gallery = `/subscriptions/${sub}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGallery`;
  await page.goto(`${galleon.url}/portal/r${gallery}`);
  await page.click("a.button:has-text('Sharing')");
  await page.waitForURL(/\/portal\/sharing\?id=/);
  await page.check("input[name=permissions][value=Groups]");
  await page.click("button:has-text('Save')");
  await page.waitForSelector("text=Sharing method saved.");
  // The change finishes in the background; the add form appears once the page shows Groups.
  const team = "3b4d2f10-0000-4000-8000-00000000abcd";
  for (let i = 0; i < 50 && !(await page.isVisible("#target")); i++) {
    await page.waitForTimeout(200);
    await page.reload();
  }
  await page.fill("#target", team);
  await page.click("button:has-text('Add')");
  await page.waitForSelector(`#shared-with code:has-text('${team}')`);
  await shot("sharing");
  await page.click("#shared-with button:has-text('Remove')");
  await page.waitForSelector("text=Removed.");
  assert.equal(await page.locator(`#shared-with code:has-text('${team}')`).count(), 0);
  await page.click("button:has-text('Stop sharing')");
  await page.waitForSelector("input[name=permissions][value=Private]:checked");
  await page.click("nav.sidenav >> text=Shared with me");
  await page.waitForSelector("text=Nothing is shared with you.");
});

test("publish a gallery to the community from its Sharing page", async () => {
  const sub = galleon.creds.subscriptionId;
  const gallery = `/subscriptions/${sub}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGallery`;
  await page.goto(`${galleon.url}/portal/sharing?id=${encodeURIComponent(gallery)}`);
  await page.check("input[name=permissions][value=Community]");
  await page.click("summary:has-text('Community gallery information')");
  await page.fill("#publisherUri", "https://images.example.org");
  await page.fill("#publisherContact", "images@example.org");
  await page.fill("#eula", "https://images.example.org/eula");
  await page.fill("#publicNamePrefix", "portal");
  await page.click("button:has-text('Save')");
  await page.waitForSelector("text=Sharing method saved.");
  // The change finishes in the background; the publish button appears once it has.
  for (let i = 0; i < 50 && !(await page.isVisible("button:has-text('Publish to the community')")); i++) {
    await page.waitForTimeout(200);
    await page.reload();
  }
  assert.match(await page.textContent(".essentials"), /portal-[0-9a-f-]{36}/);
  await page.click("button:has-text('Publish to the community')");
  await page.waitForSelector("text=Published to the community.");
  await page.click("nav.sidenav >> text=Shared with me");
  await page.waitForSelector("#community >> text=images@example.org");
  await page.goto(`${galleon.url}/portal/sharing?id=${encodeURIComponent(gallery)}`);
  await page.click("button:has-text('Stop sharing')");
  await page.waitForSelector("input[name=permissions][value=Private]:checked");
});

test("sign out ends the session", async () => {
  await page.goto(`${galleon.url}/portal/galleries`);
  await page.click("button:has-text('Sign out')");
  await page.waitForURL(/\/portal\/signin/);
  await page.goto(`${galleon.url}/portal/galleries`);
  await page.waitForURL(/\/portal\/signin\?next=/);
});
