// SPDX-License-Identifier: BSD-2-Clause
// page.mjs: the web page in a real browser (Debian's chromium driven by
// playwright-core, tests/package.json), run by
// tests/integration/it_web_page.sh against a running vigild:
//   node tests/web/page.mjs   with, in the environment,
//   VIGIL_URL      http://127.0.0.1:PORT/
//   VIGIL_TOKEN    an admin token; VIGIL_READ_TOKEN a read one
//   SHOTS          the folder for the screenshots
//   FIRING_RULE    a rule that is firing
//   SERIES         a metric with history
//   JOB, BACKUP_ID the job and the backup to restore from
//   RESTORE_FILE   the file to restore, as the backup's index names it
//   RESTORE_ROOT   the restore root (http.restore_roots)
//   TARGET         a folder under it; BAD_TARGET one outside
//   FOLDER_TARGET  another under it, for RESTORE_FILE's folder
//   CHROMIUM       the browser (default /usr/bin/chromium)
// It signs in, checks the dashboard loads with no console error, the rule
// shows as firing (first) and its notification as delivered, a chart has
// points, the restore page names the root, refuses BAD_TARGET, restores
// RESTORE_FILE into TARGET and its folder into FOLDER_TARGET (the caller
// checks the bytes), Run now starts JOB, a read token's Run now shows the
// API's refusal, and the page fits a phone's width in the dark.  Every
// request must go to VIGIL_URL's origin.  Exit 0, or 1 with a message.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k, d) => {
	const v = process.env[k] ?? d;
	if (v === undefined)
		throw new Error(`page.mjs: ${k} is not set`);
	return v;
};
const URL_ = env("VIGIL_URL");
const TOKEN = env("VIGIL_TOKEN");
const READ_TOKEN = env("VIGIL_READ_TOKEN");
const SHOTS = env("SHOTS");
const FIRING_RULE = env("FIRING_RULE");
const SERIES = env("SERIES");
const JOB = env("JOB");
const BACKUP_ID = env("BACKUP_ID");
const RESTORE_FILE = env("RESTORE_FILE");
const TARGET = env("TARGET");
const BAD_TARGET = env("BAD_TARGET");
const RESTORE_ROOT = env("RESTORE_ROOT");
const FOLDER_TARGET = env("FOLDER_TARGET");
const origin = new URL(URL_).origin;
mkdirSync(SHOTS, { recursive: true });

const problems = [];   // console errors, page errors, foreign requests
let expect403 = false; // the refused restore's own console line
const step = (s) => console.log(`page: ${s}`);

function watch(page, tag) {
	page.on("console", (m) => {
		if (m.type() !== "error" && m.type() !== "warning")
			return;
		const t = m.text();
		if (expect403 && /status of 403/.test(t))
			return;
		problems.push(`${tag} console ${m.type()}: ${t}`);
	});
	page.on("pageerror", (e) => problems.push(`${tag} page error: ${e.message}`));
	page.on("requestfailed", (r) => {
		if (r.url().startsWith(origin))
			problems.push(`${tag} request failed: ${r.url()} ${r.failure()?.errorText}`);
	});
}

async function fence(ctx, tag) {
	// Nothing but vigild: a request elsewhere is a failure (no CDN, no fonts).
	await ctx.route("**/*", (route) => {
		const u = route.request().url();
		if (u.startsWith(`${origin}/`) || u.startsWith("data:"))
			return route.continue();
		problems.push(`${tag} foreign request: ${u}`);
		return route.abort();
	});
}

function check(what) {
	if (problems.length) {
		throw new Error(`${what}:\n  ${problems.join("\n  ")}`);
	}
}

async function signIn(page, token = TOKEN) {
	await page.goto(URL_);
	await page.locator("#login-form").waitFor({ state: "visible" });
	await page.fill("#token", token);
	await page.click("#login-form button[type=submit]");
	await page.waitForFunction(() => !document.querySelector("#view-overview").hidden ||
		document.querySelector("#login-error").textContent !== "");
	const said = await page.textContent("#login-error");
	if (said)
		throw new Error(`signing in: ${said}`);
	await page.locator("#sources tbody tr td strong").first().waitFor();
}

async function go(page, view) {
	await page.evaluate((v) => { location.hash = v; }, view);
	await page.locator(`#view-${view}`).waitFor({ state: "visible" });
}

const browser = await chromium.launch({
	executablePath: env("CHROMIUM", "/usr/bin/chromium"),
	headless: true,
	args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"],
});
let rc = 0;
try {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
	await fence(ctx, "desktop");
	const page = await ctx.newPage();
	watch(page, "desktop");
	page.setDefaultTimeout(20000);

	// 1. The dashboard: sign in, the summary and the sources.
	await signIn(page);
	const host = await page.textContent("#host");
	if (!host || host === "vigil")
		throw new Error("the header names no host");
	if (await page.evaluate(() => sessionStorage.getItem("vigil.token")) !== TOKEN ||
	    await page.evaluate(() => localStorage.length) !== 0)
		throw new Error("the token is not (only) in session storage");
	await page.waitForTimeout(500);
	await page.screenshot({ path: `${SHOTS}/01-overview.png`, fullPage: true });
	check("the dashboard");
	step(`overview of ${host}`);

	// 2. A chart of SERIES with points.
	await go(page, "charts");
	await page.click("#ranges [data-range='15m']");
	await page.fill("#series-input", SERIES);
	await page.click("#chart-form button[type=submit]");
	const chart = page.locator(`article.chart[data-series="${SERIES}"]`);
	await page.waitForFunction((s) => {
		const e = document.querySelector(`article.chart[data-series="${s}"]`);
		return e && Number(e.dataset.points) >= 2 && e.querySelector("canvas");
	}, SERIES, { timeout: 30000 });
	// A range of its own, from and to: the last 10 minutes, by hand.
	await page.evaluate(() => {
		const loc = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);
		document.querySelector("#range-from").value = loc(Date.now() - 600000);
		document.querySelector("#range-to").value = loc(Date.now() + 120000);
	});
	await chart.evaluate((e) => { e.dataset.points = "0"; });
	await page.click("#range-apply");
	await page.waitForFunction((s) => Number(document.querySelector(`article.chart[data-series="${s}"]`).dataset.points) >= 2 &&
		document.querySelector("#range-apply").classList.contains("active"), SERIES, { timeout: 20000 });
	const points = Number(await chart.getAttribute("data-points"));
	await page.waitForTimeout(300);
	await page.screenshot({ path: `${SHOTS}/02-charts.png`, fullPage: true });
	step(`chart of ${SERIES}: ${points} points`);

	// 3. The rule fires, and firing rules come first.
	await go(page, "alerts");
	const refreshed = await page.textContent("#refreshed");
	await page.waitForFunction((r) => {
		const row = document.querySelector(`#rules tbody tr[data-rule="${r}"]`);
		return row && /^(CRITICAL|WARNING)$/.test(row.dataset.state);
	}, FIRING_RULE, { timeout: 30000 });
	const first = await page.locator("#rules tbody tr").first().getAttribute("data-state");
	if (!/^(CRITICAL|WARNING)$/.test(first))
		throw new Error(`a ${first} rule is listed before the firing one`);
	const badge = await page.textContent(`#rules tbody tr[data-rule="${FIRING_RULE}"] .state`);
	// Its notification, delivered, among the recent ones.
	await page.waitForFunction((r) => [...document.querySelectorAll("#recent tbody tr")].some((tr) =>
		tr.children.length > 5 && tr.children[1].textContent === r && tr.children[5].textContent === "delivered"),
	FIRING_RULE, { timeout: 30000 });
	// The page refreshes itself every few seconds.
	await page.waitForFunction((t) => document.querySelector("#refreshed").textContent !== t,
		refreshed, { timeout: 15000 });
	await page.screenshot({ path: `${SHOTS}/03-alerts.png`, fullPage: true });
	step(`rule ${FIRING_RULE} shows ${badge}`);

	// 4. The backup jobs.
	await go(page, "backups");
	await page.locator(`#jobs tbody tr[data-job="${JOB}"]`).waitFor();
	await page.screenshot({ path: `${SHOTS}/04-backups.png`, fullPage: true });
	check("the dashboard's views");
	step(`job ${JOB} listed`);

	// 5. The restore page: job, backup, search, select, refused target.
	await go(page, "restore");
	await page.waitForFunction((root) => document.querySelector("#r-roots-note").textContent.includes(root),
		RESTORE_ROOT);
	await page.waitForFunction((j) => [...document.querySelectorAll("#r-job option")].some((o) => o.value === j), JOB);
	await page.selectOption("#r-job", JOB);
	await page.locator(`#r-backups tbody tr[data-id="${BACKUP_ID}"]`).click();
	await page.locator(`#r-timeline button.selected[data-id="${BACKUP_ID}"]`).waitFor();
	await page.locator("#r-files tbody tr[data-path]").first().waitFor();
	// Browse down to the file's folder, one folder at a time ...
	const parts = RESTORE_FILE.split("/");
	for (let i = 1; i < parts.length; i++) {
		const dir = parts.slice(0, i).join("/");
		await page.locator(`#r-files tbody tr[data-path="${dir}"][data-type="dir"] button.entry`).click();
		await page.locator(`#r-crumbs button:text-is("${parts[i - 1]}")`).waitFor();
	}
	await page.locator(`#r-files tbody tr[data-path="${RESTORE_FILE}"][data-type="file"]`).waitFor();
	step(`browsed to ${parts.slice(0, -1).join("/")}`);
	// ... and find it by a search from the top.
	await page.locator("#r-crumbs button").first().click();
	await page.locator(`#r-files tbody tr[data-path="${parts[0]}"]`).waitFor();
	const base = RESTORE_FILE.slice(RESTORE_FILE.lastIndexOf("/") + 1);
	await page.fill("#r-q", base);
	await page.click("#r-search button[type=submit]");
	const row = page.locator(`#r-files tbody tr[data-path="${RESTORE_FILE}"]`);
	await row.waitFor();
	await row.locator("input[type=checkbox]").check();
	await page.locator("#r-selected li", { hasText: RESTORE_FILE }).waitFor();
	await page.fill("#r-target", BAD_TARGET);
	expect403 = true;
	await page.click("#r-go");
	await page.waitForFunction(() => /Refused/.test(document.querySelector("#r-error").textContent));
	const refused = await page.textContent("#r-error");
	await page.screenshot({ path: `${SHOTS}/05-restore-refused.png`, fullPage: true });
	expect403 = false;
	step(`outside target refused: ${refused}`);

	// ... then a target under the root, and the progress until done.
	await page.fill("#r-target", TARGET);
	await page.click("#r-go");
	await page.waitForFunction(() => {
		const s = document.querySelector("#r-state");
		return s && /^(done|failed)$/.test(s.dataset.state || "");
	}, null, { timeout: 30000 });
	const state = await page.getAttribute("#r-state", "data-state");
	const said = await page.textContent("#r-state");
	await page.screenshot({ path: `${SHOTS}/06-restore-done.png`, fullPage: true });
	if (state !== "done")
		throw new Error(`the restore ended ${state}: ${said}`);
	step(`restore: ${said}`);

	// A folder: leave the file out, tick its folder, restore elsewhere.
	await page.locator(`#r-selected li button[aria-label="Leave out ${RESTORE_FILE}"]`).click();
	await page.waitForFunction(() => document.querySelectorAll("#r-selected li").length === 0);
	const folder = parts.slice(0, -1).join("/");
	await page.click("#r-browse");
	for (let i = 1; i < parts.length - 1; i++)
		await page.locator(`#r-files tbody tr[data-path="${parts.slice(0, i).join("/")}"] button.entry`).click();
	await page.locator(`#r-files tbody tr[data-path="${folder}"] input[type=checkbox]`).check();
	await page.locator("#r-selected li", { hasText: `${folder}/` }).waitFor();
	await page.fill("#r-target", FOLDER_TARGET);
	await page.click("#r-go");
	await page.waitForFunction((t) => {
		const s = document.querySelector("#r-state");
		return /^(done|failed)$/.test(s.dataset.state || "") && s.textContent.includes(t);
	}, FOLDER_TARGET, { timeout: 30000 });
	const said2 = await page.textContent("#r-state");
	if (await page.getAttribute("#r-state", "data-state") !== "done")
		throw new Error(`the folder's restore: ${said2}`);
	check("the restore page");
	step(`folder restore: ${said2}`);

	// 6. Run now, with the admin token.
	await go(page, "backups");
	await page.locator(`#jobs tbody tr[data-job="${JOB}"] button.run`).click();
	await page.waitForFunction((j) => document.querySelector("#jobs-note").textContent === `Backup ${j} started.`, JOB);
	step(`run now: ${await page.textContent("#jobs-note")}`);

	// 7. A read token: the page says plainly what the API refused.
	const rctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	await fence(rctx, "read");
	const rp = await rctx.newPage();
	watch(rp, "read");
	rp.setDefaultTimeout(20000);
	await signIn(rp, READ_TOKEN);
	await go(rp, "backups");
	expect403 = true;
	await rp.locator(`#jobs tbody tr[data-job="${JOB}"] button.run`).click();
	await rp.waitForFunction(() => !document.querySelector("#error").hidden);
	const banner = await rp.textContent("#error");
	if (!/admin/.test(banner))
		throw new Error(`a read token's Run now says: ${banner}`);
	await rp.screenshot({ path: `${SHOTS}/11-read-token-refused.png`, fullPage: true });
	expect403 = false;
	await rctx.close();
	check("the read token");
	step(`read token, Run now: ${banner}`);

	// 8. A phone in the dark: nothing wider than the screen.
	const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
		isMobile: true, hasTouch: true, colorScheme: "dark" });
	await fence(phone, "phone");
	const pp = await phone.newPage();
	watch(pp, "phone");
	pp.setDefaultTimeout(20000);
	await signIn(pp);
	const phoneViews = ["overview", "charts", "alerts", "restore"];
	for (const [i, v] of phoneViews.entries()) {
		if (v !== "overview")
			await go(pp, v);
		if (v === "charts")
			await pp.waitForFunction(() => document.querySelector("article.chart canvas"));
		await pp.waitForTimeout(400);
		const over = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		if (over > 1)
			throw new Error(`on a phone the ${v} view is ${over} px wider than the screen`);
		const n = String(7 + i).padStart(2, "0");
		await pp.screenshot({ path: `${SHOTS}/${n}-phone-dark-${v}.png`, fullPage: true });
	}
	const bg = await pp.evaluate(() => getComputedStyle(document.body).backgroundColor);
	if (bg === "rgb(255, 255, 255)")
		throw new Error("the dark scheme keeps a white background");
	check("the page on a phone");
	step("phone, dark: fits the screen");
	console.log("page: ok");
} catch (e) {
	console.error(`page: FAIL: ${e.message}`);
	rc = 1;
	// What the page showed then.
	for (const [i, c] of browser.contexts().entries())
		for (const p of c.pages())
			await p.screenshot({ path: `${SHOTS}/failed-${i}.png`, fullPage: true }).catch(() => {});
} finally {
	await browser.close();
}
process.exit(rc);
