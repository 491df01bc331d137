// app.js: vigild's web page (docs/API.md is the contract): the host, its
// sources, charts of the metric history, rules and alerts, backup jobs and
// the restore page.  Plain JavaScript, no framework; every element is made
// with h() from text, never from HTML, so nothing from the API is markup.
// SPDX-License-Identifier: BSD-2-Clause
"use strict";

(() => {
	const REFRESH_MS = 5000;
	const POLL_MS = 1000;
	const TOKEN_KEY = "vigil.token";
	const CHARTS_KEY = "vigil.charts";
	const RANGE_KEY = "vigil.range";
	const STATE_ORDER = { CRITICAL: 0, WARNING: 1, UNKNOWN: 2, OK: 3 };

	const $ = (sel) => document.querySelector(sel);

	// h("td", {className: "num"}, "12", child...): an element with
	// properties (on* as listeners, dataset as data-*) and children
	// (strings become text nodes; null and false are left out).
	function h(tag, props, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(props || {})) {
			if (v === undefined || v === null)
				continue;
			if (k.startsWith("on"))
				e.addEventListener(k.slice(2), v);
			else if (k === "dataset")
				Object.assign(e.dataset, v);
			else
				e[k] = v;
		}
		for (const c of kids.flat()) {
			if (c === null || c === undefined || c === false)
				continue;
			e.append(c instanceof Node ? c : String(c));
		}
		return e;
	}

	function fill(tbody, rows, cols, emptyText) {
		if (rows.length === 0)
			rows = [h("tr", null, h("td", { className: "empty", colSpan: cols }, emptyText))];
		tbody.replaceChildren(...rows);
	}

	// ---- formatting --------------------------------------------------

	// A time from the API: ms since the epoch, or an RFC 3339 string.
	function toDate(v) {
		if (v === null || v === undefined || v === "" || v === 0)
			return null;
		const d = typeof v === "number" ? new Date(v) : new Date(v);
		return isNaN(d.getTime()) ? null : d;
	}

	function fmtTime(v) {
		const d = toDate(v);
		if (d === null)
			return "never";
		const now = new Date();
		const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
		if (d.toDateString() !== now.toDateString())
			Object.assign(opts, { year: "numeric", month: "short", day: "numeric" });
		return d.toLocaleString(undefined, opts);
	}

	function fmtSpan(s) {
		s = Math.abs(s);
		if (s < 60)
			return `${Math.round(s)} s`;
		if (s < 3600)
			return `${Math.floor(s / 60)} min`;
		if (s < 86400)
			return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
		return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
	}

	// "3 min ago", "in 5 h 2 min".
	function fmtAge(v) {
		const d = toDate(v);
		if (d === null)
			return "never";
		const s = (Date.now() - d.getTime()) / 1000;
		if (Math.abs(s) < 1)
			return "now";
		return s >= 0 ? `${fmtSpan(s)} ago` : `in ${fmtSpan(s)}`;
	}

	function fmtBytes(n) {
		if (typeof n !== "number" || !isFinite(n))
			return "–";
		const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
		let i = 0;
		while (Math.abs(n) >= 1024 && i < u.length - 1) {
			n /= 1024;
			i++;
		}
		return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${u[i]}`;
	}

	function fmtNum(v) {
		if (typeof v !== "number" || !isFinite(v))
			return v === null || v === undefined ? "–" : String(v);
		if (Number.isInteger(v))
			return v.toLocaleString();
		const a = Math.abs(v);
		return v.toLocaleString(undefined, { maximumFractionDigits: a >= 100 ? 1 : a >= 1 ? 2 : 4 });
	}

	function plural(n, what) {
		return `${fmtNum(n)} ${what}${n === 1 ? "" : "s"}`;
	}

	function fmtMs(ms) {
		if (typeof ms !== "number")
			return "–";
		return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
	}

	// A time cell: the age, the time itself as its tooltip.
	function timeCell(v) {
		const d = toDate(v);
		return h("td", { className: "nowrap", title: d ? d.toISOString() : "" }, fmtAge(v));
	}

	function stateBadge(s) {
		return h("span", { className: `state ${s}` }, s);
	}

	// ---- the API -----------------------------------------------------

	class ApiError extends Error {
		constructor(status, message) {
			super(message);
			this.status = status;
		}
	}

	let token = sessionStorage.getItem(TOKEN_KEY);

	// api("status"), api("jobs/x/run", {method: "POST"}): the answer's
	// JSON, or an ApiError carrying the API's {"error"} message.
	async function api(path, opts = {}) {
		const init = {
			method: opts.method || "GET",
			headers: { Authorization: `Bearer ${token}` },
			cache: "no-store",
			credentials: "omit",
		};
		if (opts.body !== undefined) {
			init.headers["Content-Type"] = "application/json";
			init.body = JSON.stringify(opts.body);
		}
		let r;
		try {
			r = await fetch(`api/v1/${path}`, init);
		} catch (e) {
			throw new ApiError(0, `cannot reach vigild (${e.message})`);
		}
		const text = await r.text();
		let data = null;
		try {
			data = text === "" ? null : JSON.parse(text);
		} catch (e) {
			data = null;
		}
		if (!r.ok) {
			let msg = data && typeof data.error === "string" ? data.error : `${r.status} ${r.statusText}`.trim();
			if (r.status === 429) {
				const after = r.headers.get("Retry-After");
				if (after)
					msg += ` (try again in ${after} s)`;
			}
			if (r.status === 401)
				signOut(`The token was refused: ${msg}`);
			throw new ApiError(r.status, msg);
		}
		if (data === null || typeof data !== "object")
			throw new ApiError(r.status, `GET ${path}: the answer is not JSON`);
		return data;
	}

	const enc = encodeURIComponent;

	function showError(msg) {
		const b = $("#error");
		b.textContent = msg;
		b.hidden = !msg;
		$(".logo").classList.toggle("bad", !!msg);
	}

	// ---- sign in -------------------------------------------------------

	function signOut(why) {
		token = null;
		sessionStorage.removeItem(TOKEN_KEY);
		stopRestorePoll();
		showError("");
		$("#login-error").textContent = why || "";
		for (const v of document.querySelectorAll("main > .view"))
			v.hidden = v.id !== "login";
		$("#nav").hidden = true;
		$("#signout").hidden = true;
		$("#refreshed").textContent = "";
		$("#token").value = "";
		$("#token").focus();
	}

	$("#login-form").addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const t = $("#token").value.trim();
		if (t === "")
			return;
		token = t;
		$("#login-error").textContent = "";
		try {
			await api("status");
		} catch (e) {
			if (e.status !== 401) {
				$("#login-error").textContent = e.message;
				token = null;
			}
			return;
		}
		sessionStorage.setItem(TOKEN_KEY, token);
		$("#token").value = "";
		enter();
	});

	$("#signout").addEventListener("click", () => signOut(""));

	function enter() {
		$("#login").hidden = true;
		$("#nav").hidden = false;
		$("#signout").hidden = false;
		route();
	}

	// ---- views and refresh ------------------------------------------

	const views = {};
	let current = null;
	let refreshing = false;
	let again = false;
	let status = null;

	function route() {
		if (!token)
			return;
		let name = location.hash.replace(/^#/, "");
		if (!(name in views))
			name = "overview";
		current = name;
		for (const v of document.querySelectorAll("main > .view"))
			v.hidden = v.id !== `view-${name}`;
		for (const a of document.querySelectorAll("#nav a"))
			a.classList.toggle("current", a.dataset.view === name);
		if (views[name].enter)
			views[name].enter();
		refresh();
	}

	async function refresh() {
		if (!token)
			return;
		if (refreshing) {
			// Another view, a new range: once this one is done.
			again = true;
			return;
		}
		refreshing = true;
		again = false;
		try {
			status = await api("status");
			$("#host").textContent = `${status.host || "vigil"}`;
			document.title = `${status.host || "vigil"} · vigil`;
			await views[current].refresh();
			showError("");
			$("#refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
		} catch (e) {
			if (token)
				showError(e.message);
		} finally {
			refreshing = false;
		}
		if (again)
			refresh();
	}

	window.addEventListener("hashchange", route);
	setInterval(() => {
		if (!document.hidden)
			refresh();
	}, REFRESH_MS);
	document.addEventListener("visibilitychange", () => {
		if (!document.hidden)
			refresh();
	});

	// ---- overview ------------------------------------------------------

	function stat(k, v, d) {
		return h("div", { className: "stat" }, h("div", { className: "k" }, k),
			h("div", { className: "v" }, v), d ? h("div", { className: "d" }, d) : null);
	}

	views.overview = {
		async refresh() {
			const { sources } = await api("sources");
			const st = status;
			const hist = st.history || {};
			const q = st.queue || {};
			const cards = [
				stat("Host", st.host || "–", st.config ? `config ${st.config}` : null),
				stat("Agent", `vigild ${st.version || ""}`, `pid ${st.pid ?? "–"}`),
				stat("Up", typeof st.uptime_s === "number" ? fmtSpan(st.uptime_s) : "–",
					st.started_ms ? `since ${fmtTime(st.started_ms)}` : null),
				stat("Reloads", fmtNum(st.reloads ?? 0),
					st.reload_failures ? `${st.reload_failures} failed` : null),
				stat("Sources", fmtNum(sources.length),
					`${sources.filter((s) => s.failures > 0).length} failing`),
				st.history === null ? stat("History", "off", "no charts (http.history)") :
					stat("History", `${fmtNum(hist.series ?? 0)} series`,
						`${fmtBytes(hist.bytes)} of ${fmtBytes(hist.bytes_max)}` +
						(hist.dropped ? `, ${hist.dropped} dropped` : "") +
						(hist.last_error ? `; ${hist.last_error}` : "")),
				stat("Alert queue", fmtNum(q.depth ?? 0),
					typeof q.oldest_age_s === "number" && q.depth ? `oldest ${fmtSpan(q.oldest_age_s)}` : null),
			];
			$("#summary").replaceChildren(...cards);
			const rows = sources.map((s) => h("tr", { className: s.failures > 0 ? "failing" : "" },
				// What matters on a phone first; the rest scrolls.
				h("td", null, h("strong", null, s.name)),
				timeCell(s.last_ok_ms),
				h("td", { className: "num" }, fmtNum(s.failures)),
				h("td", { className: s.last_error ? "err" : "" }, s.last_error || ""),
				h("td", null, s.type),
				h("td", { className: "num" }, fmtMs(s.interval_ms)),
				h("td", { className: "num" }, fmtMs(s.last_duration_ms)),
				h("td", { className: "num" }, s.api_calls === null || s.api_calls === undefined ? "–" : fmtNum(s.api_calls)),
				h("td", { className: "num" }, fmtNum(typeof s.readings === "number" ? s.readings :
					s.readings ? Object.keys(s.readings).length : 0))));
			fill($("#sources tbody"), rows, 9, "No sources configured.");
		},
	};

	// ---- charts --------------------------------------------------------

	const RANGES = { "15m": 900, "1h": 3600, "3h": 10800, "12h": 43200, "2d": 172800, "7d": 604800, "30d": 2592000 };
	let range = JSON.parse(sessionStorage.getItem(RANGE_KEY) || "null") || { rel: "3h" };
	let charts = []; // {series, el, plot, data}
	let seriesLoaded = 0;

	function saveCharts() {
		sessionStorage.setItem(CHARTS_KEY, JSON.stringify(charts.map((c) => c.series)));
	}

	function rangeParams() {
		let from, to, span;
		if (range.rel) {
			span = RANGES[range.rel];
			from = `-${range.rel}`;
			to = "now";
		} else {
			from = String(range.from);
			to = String(range.to);
			span = (range.to - range.from) / 1000;
		}
		// About 500 points a chart, in steps of 10 s (the finest tier).
		const step = Math.max(10, Math.ceil(span / 500 / 10) * 10);
		return `from=${enc(from)}&to=${enc(to)}&step=${step}s`;
	}

	function cssVar(name) {
		return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
	}

	function plotOpts(c, width) {
		const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid"), width: 1 },
			ticks: { stroke: cssVar("--grid"), width: 1 } };
		return {
			width,
			height: 220,
			ms: 1,
			legend: { show: true },
			cursor: { drag: { x: true, y: false } },
			scales: { x: { time: true } },
			axes: [axis, { ...axis, size: 60, values: (u, ticks) => ticks.map(fmtNum) }],
			series: [
				{ value: (u, v) => (v === null ? "–" : fmtTime(v)) },
				{ label: c.series, stroke: cssVar("--chart"), fill: cssVar("--chart-fill"), width: 1.5,
					spanGaps: false, points: { show: false },
					value: (u, v) => (v === null ? "–" : fmtNum(v)) },
			],
		};
	}

	function drawChart(c) {
		const box = c.el.querySelector(".plot");
		const width = Math.max(200, box.clientWidth || c.el.clientWidth - 20);
		if (c.plot) {
			c.plot.setData(c.data);
			return;
		}
		box.replaceChildren();
		c.plot = new uPlot(plotOpts(c, width), c.data, box);
	}

	async function loadChart(c) {
		const note = c.el.querySelector(".note");
		const err = c.el.querySelector(".error-text");
		let r;
		try {
			r = await api(`history?series=${enc(c.series)}&${rangeParams()}`);
		} catch (e) {
			err.textContent = e.message;
			throw e;
		}
		err.textContent = "";
		const xs = [], ys = [];
		const step = r.step_ms || 0;
		let n = 0;
		for (const [t, v] of r.points || []) {
			// A gap of more than two steps is drawn as one.
			if (step && xs.length && t - xs[xs.length - 1] > 2 * step) {
				xs.push(xs[xs.length - 1] + step);
				ys.push(null);
			}
			xs.push(t);
			ys.push(v);
			if (v !== null)
				n++;
		}
		c.data = [xs, ys];
		c.el.dataset.points = String(n);
		const last = ys.filter((v) => v !== null).pop();
		c.el.querySelector(".last").textContent = last === undefined ? "" : fmtNum(last);
		note.textContent = n === 0 ? "no points in this range" :
			`${n} points, every ${fmtSpan((step || 10000) / 1000)}`;
		drawChart(c);
	}

	function addChart(series) {
		if (charts.some((c) => c.series === series))
			return null;
		const c = { series, plot: null, data: [[], []] };
		c.el = h("article", { className: "chart", dataset: { series, points: "0" } },
			h("header", null,
				h("span", { className: "name" }, series),
				h("span", { className: "last" }),
				h("button", { type: "button", className: "small", title: "Remove this chart",
					ariaLabel: `Remove the chart of ${series}`,
					onclick: () => removeChart(c) }, "×")),
			h("div", { className: "plot" }),
			h("div", { className: "note" }, "loading…"),
			h("p", { className: "error-text" }));
		$("#charts").append(c.el);
		charts.push(c);
		$("#charts-empty").hidden = true;
		saveCharts();
		return c;
	}

	function removeChart(c) {
		if (c.plot)
			c.plot.destroy();
		c.el.remove();
		charts = charts.filter((x) => x !== c);
		$("#charts-empty").hidden = charts.length > 0;
		saveCharts();
	}

	function showRange() {
		for (const b of document.querySelectorAll("#ranges [data-range]"))
			b.classList.toggle("active", b.dataset.range === range.rel);
		$("#range-apply").classList.toggle("active", !range.rel);
	}

	function localInput(ms) {
		const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
		return d.toISOString().slice(0, 16);
	}

	function setRange(r) {
		range = r;
		sessionStorage.setItem(RANGE_KEY, JSON.stringify(range));
		showRange();
		showRangeInputs();
		for (const c of charts) {
			// A new range: new scales.
			if (c.plot) {
				c.plot.destroy();
				c.plot = null;
			}
		}
		refresh();
	}

	for (const b of document.querySelectorAll("#ranges [data-range]"))
		b.addEventListener("click", () => setRange({ rel: b.dataset.range }));
	$("#range-apply").addEventListener("click", () => {
		const from = new Date($("#range-from").value).getTime();
		const to = new Date($("#range-to").value).getTime();
		if (!isFinite(from) || !isFinite(to) || from >= to) {
			showError("The custom range needs a start before its end.");
			return;
		}
		setRange({ from, to });
	});

	$("#chart-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const s = $("#series-input").value.trim();
		if (s === "")
			return;
		const c = addChart(s);
		$("#series-input").value = "";
		if (c)
			loadChart(c).catch((e) => showError(e.message));
	});

	// Charts follow the width of their box and the light or dark scheme.
	const resizer = new ResizeObserver(() => {
		for (const c of charts) {
			const box = c.el.querySelector(".plot");
			if (c.plot && box.clientWidth > 0 && Math.abs(box.clientWidth - c.plot.width) > 2)
				c.plot.setSize({ width: box.clientWidth, height: 220 });
		}
	});
	resizer.observe($("#charts"));
	matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
		for (const c of charts) {
			if (c.plot) {
				c.plot.destroy();
				c.plot = null;
				drawChart(c);
			}
		}
	});

	function showRangeInputs() {
		if (!range.rel) {
			$("#range-from").value = localInput(range.from);
			$("#range-to").value = localInput(range.to);
		} else {
			$("#range-from").value = localInput(Date.now() - RANGES[range.rel] * 1000);
			$("#range-to").value = localInput(Date.now());
		}
	}

	views.charts = {
		enter() {
			showRange();
			showRangeInputs();
		},
		async refresh() {
			// The list of series now and then, not every few seconds.
			if (Date.now() - seriesLoaded > 60000 || $("#series-list").children.length === 0) {
				const { series } = await api("series");
				seriesLoaded = Date.now();
				$("#series-list").replaceChildren(...series.map((s) => h("option", { value: s })));
				if (charts.length === 0) {
					let want = JSON.parse(sessionStorage.getItem(CHARTS_KEY) || "null");
					if (want === null) {
						want = ["cpu.used_pct", "load.1", "mem.used_pct"].filter((s) => series.includes(s));
						if (want.length === 0)
							want = series.slice(0, 2);
					}
					for (const s of want)
						addChart(s);
				}
			}
			$("#charts-empty").hidden = charts.length > 0;
			const res = await Promise.allSettled(charts.map(loadChart));
			const bad = res.find((r) => r.status === "rejected");
			if (bad)
				throw bad.reason;
		},
	};

	// ---- rules and alerts ------------------------------------------

	function kvCards(obj, skip) {
		const out = [];
		for (const [k, v] of Object.entries(obj || {})) {
			if (skip.includes(k))
				continue;
			if (v !== null && typeof v === "object")
				continue;
			let shown = typeof v === "number" ? fmtNum(v) : v === null ? "–" : String(v);
			if (/_s$/.test(k) && typeof v === "number")
				shown = fmtSpan(v);
			if (/bytes/.test(k) && typeof v === "number")
				shown = fmtBytes(v);
			out.push(stat(k.replace(/_/g, " "), shown));
		}
		return out;
	}

	views.alerts = {
		async refresh() {
			const [{ rules }, notes] = await Promise.all([api("rules"), api("notifications")]);
			// Firing first; otherwise as vigild lists them (rule order).
			const sorted = [...rules].sort((a, b) =>
				(STATE_ORDER[a.state] ?? 2) - (STATE_ORDER[b.state] ?? 2));
			fill($("#rules tbody"), sorted.map((r) => {
				const firing = r.firing ?? (r.state === "CRITICAL" || r.state === "WARNING");
				return h("tr", { className: `${firing ? "firing " : ""}${r.state}`,
					dataset: { rule: r.rule, metric: r.metric, state: r.state } },
				h("td", null, stateBadge(r.state)),
				h("td", null, h("strong", null, r.rule)),
				h("td", { className: "mono" }, r.metric || "(nothing matched yet)"),
				timeCell(r.since),
				h("td", { className: "num" }, fmtNum(r.value)),
				h("td", null, r.severity ?? ""));
			}), 6, "No rules configured.");
			const q = notes.queue || {};
			const per = q.per_notifier || q.notifiers || {};
			const cards = kvCards(q, ["per_notifier", "notifiers"]);
			for (const [name, v] of Object.entries(per))
				cards.push(stat(`queued for ${name}`, typeof v === "object" && v !== null ? fmtNum(v.depth) : fmtNum(v)));
			$("#queue").replaceChildren(...cards);
			fill($("#recent tbody"), (notes.recent || []).map((n) => h("tr", null,
				timeCell(n.time),
				h("td", null, n.rule),
				h("td", { className: "mono" }, n.metric),
				h("td", null, stateBadge(n.state)),
				h("td", null, n.notifier),
				h("td", { className: /^(ok|sent|delivered)$/i.test(n.result) ? "ok-text" : "err" },
					n.result ?? "", n.error ? `: ${n.error}` : ""))),
			6, "No notifications yet.");
		},
	};

	// ---- backup jobs -------------------------------------------------

	function lastResult(j) {
		if (j.running) {
			const p = j.progress || {};
			return h("td", null, stateBadge("running"), " ",
				h("span", { className: "muted small" },
					`${fmtNum(p.files ?? 0)} files, ${fmtBytes(p.bytes_read ?? 0)} read`));
		}
		const lr = j.last_run;
		if (!lr)
			return h("td", null, stateBadge("never"));
		const ok = lr.ok ?? lr.result === "ok";
		return h("td", null, stateBadge(ok ? "ok" : "failed"), " ",
			h("span", { className: "small", title: toDate(lr.end)?.toISOString() ?? "" }, fmtAge(lr.end ?? lr.time)),
			!ok && lr.error ? h("div", { className: "error-text small" }, lr.error) : null);
	}

	async function runNow(job, btn) {
		btn.disabled = true;
		$("#jobs-note").textContent = "";
		try {
			await api(`jobs/${enc(job)}/run`, { method: "POST" });
			$("#jobs-note").textContent = `Backup ${job} started.`;
			showError("");
			await refresh();
		} catch (e) {
			showError(`Run ${job}: ${e.message}`);
		} finally {
			btn.disabled = false;
		}
	}

	views.backups = {
		async refresh() {
			const { jobs } = await api("jobs");
			fill($("#jobs tbody"), jobs.map((j) => {
				const ls = j.last_success || {};
				return h("tr", { dataset: { job: j.name } },
					h("td", null, h("strong", null, j.name)),
					h("td", null, j.schedule || "manual"),
					lastResult(j),
					timeCell(ls.end),
					h("td", { className: "num", title: ls.stored !== undefined ? `${fmtBytes(ls.stored)} stored` : "" },
						fmtBytes(ls.bytes)),
					h("td", { className: "num" }, fmtNum(ls.files)),
					timeCell(j.next_run),
					h("td", null, h("button", { type: "button", className: "small run",
						disabled: !!j.running, onclick: (ev) => runNow(j.name, ev.currentTarget) },
					"Run now")));
			}), 8, "No backup jobs configured.");
		},
	};

	// ---- restore -------------------------------------------------------

	const R = {
		job: "",
		backups: [],
		id: null,
		dir: "",
		q: "",
		next: null,
		selected: new Set(),
		rid: null,
		timer: null,
	};

	function stopRestorePoll() {
		if (R.timer !== null)
			clearTimeout(R.timer);
		R.timer = null;
	}

	function baseName(p) {
		const t = p.replace(/\/+$/, "");
		return t.slice(t.lastIndexOf("/") + 1) || t;
	}

	function restoreError(msg) {
		$("#r-error").textContent = msg || "";
	}

	async function pickJob(job) {
		R.job = job;
		R.id = null;
		R.backups = [];
		R.selected.clear();
		restoreError("");
		$("#r-files-step").hidden = true;
		$("#r-target-step").hidden = true;
		$("#r-backups-step").hidden = !job;
		if (!job)
			return;
		try {
			const { backups } = await api(`jobs/${enc(job)}/backups`);
			R.backups = backups;
		} catch (e) {
			restoreError(e.message);
		}
		drawBackups();
	}

	function drawBackups() {
		const bs = R.backups;
		const tl = $("#r-timeline");
		const times = bs.map((b) => toDate(b.time)?.getTime() ?? 0);
		const lo = Math.min(...times), hi = Math.max(...times);
		tl.replaceChildren(...bs.map((b, i) => {
			const pos = hi > lo ? ((times[i] - lo) / (hi - lo)) * 100 : 50;
			const btn = h("button", {
				type: "button",
				className: `${b.complete === false ? "incomplete " : ""}${b.id === R.id ? "selected" : ""}`,
				title: `${fmtTime(b.time)}: ${b.id}${b.complete === false ? " (incomplete)" : ""}`,
				ariaLabel: `Backup ${b.id} of ${fmtTime(b.time)}`,
				dataset: { id: b.id },
				onclick: () => pickBackup(b.id),
			});
			btn.style.left = `${pos}%`;
			return btn;
		}));
		$("#r-tl-first").textContent = bs.length ? fmtTime(Math.min(...times)) : "";
		$("#r-tl-last").textContent = bs.length > 1 ? fmtTime(Math.max(...times)) : "";
		fill($("#r-backups tbody"), bs.map((b) => h("tr", {
			className: b.id === R.id ? "selected" : "",
			dataset: { id: b.id },
			onclick: () => pickBackup(b.id),
		},
		h("td", { className: "nowrap" }, fmtTime(b.time)),
		h("td", { className: "mono" }, b.id),
		h("td", { className: "num" }, fmtBytes(b.bytes)),
		h("td", null, b.complete === false ? stateBadge("incomplete") : ""))),
		4, "This job has no backups yet.");
	}

	async function pickBackup(id) {
		const b = R.backups.find((x) => x.id === id);
		R.id = id;
		R.selected.clear();
		drawBackups();
		restoreError("");
		if (b && b.complete === false) {
			// An interrupted run: nothing to browse or restore.
			$("#r-files-step").hidden = true;
			$("#r-target-step").hidden = true;
			restoreError(`Backup ${id} is incomplete (an interrupted run): it cannot be browsed or restored.`);
			return;
		}
		$("#r-files-step").hidden = false;
		$("#r-target-step").hidden = false;
		$("#r-q").value = "";
		drawSelected();
		await browse("");
	}

	function filesUrl(cursor) {
		let u = `jobs/${enc(R.job)}/backups/${enc(R.id)}/files?limit=200`;
		u += R.q ? `&q=${enc(R.q)}` : `&dir=${enc(R.dir)}`;
		if (cursor)
			u += `&cursor=${enc(cursor)}`;
		return u;
	}

	async function browse(dir) {
		R.dir = dir;
		R.q = "";
		await listFiles(false);
	}

	async function search(q) {
		R.q = q;
		await listFiles(false);
	}

	async function listFiles(more) {
		let r;
		try {
			r = await api(filesUrl(more ? R.next : null));
		} catch (e) {
			restoreError(e.message);
			return;
		}
		restoreError("");
		R.next = r.next ?? null;
		drawCrumbs();
		const rows = r.entries.map(fileRow);
		const tbody = $("#r-files tbody");
		if (more)
			tbody.append(...rows);
		else
			fill(tbody, rows, 4, R.q ? "Nothing matches." : "This folder is empty.");
		$("#r-more").hidden = R.next === null;
	}

	function selPath(e) {
		return e.type === "dir" ? `${e.path.replace(/\/+$/, "")}/` : e.path;
	}

	function fileRow(e) {
		const p = selPath(e);
		const box = h("input", { type: "checkbox", checked: R.selected.has(p),
			ariaLabel: `Select ${e.path}`,
			onchange: (ev) => {
				if (ev.currentTarget.checked)
					R.selected.add(p);
				else
					R.selected.delete(p);
				drawSelected();
			} });
		const shown = R.q ? e.path : baseName(e.path);
		const name = e.type === "dir" ?
			h("button", { type: "button", className: "entry", onclick: () => browse(e.path.replace(/\/+$/, "")) }, `${shown}/`) :
			h("span", { className: "file" }, e.type === "link" ? `${shown} →` : shown);
		return h("tr", { dataset: { path: e.path, type: e.type } },
			h("td", { className: "check" }, box),
			h("td", null, name),
			h("td", { className: "num" }, e.type === "file" ? fmtBytes(e.size) : ""),
			h("td", { className: "nowrap" }, e.mtime ? fmtTime(typeof e.mtime === "number" && e.mtime < 1e11 ? e.mtime * 1000 : e.mtime) : ""));
	}

	function drawCrumbs() {
		const c = $("#r-crumbs");
		if (R.q) {
			c.replaceChildren(h("span", null, `paths containing “${R.q}”`));
			return;
		}
		const parts = R.dir === "" ? [] : R.dir.split("/");
		const kids = [h("button", { type: "button", onclick: () => browse("") }, "/")];
		parts.forEach((p, i) => {
			if (i > 0)
				kids.push(h("span", null, "/"));
			const d = parts.slice(0, i + 1).join("/");
			kids.push(h("button", { type: "button", onclick: () => browse(d) }, p));
		});
		c.replaceChildren(...kids);
	}

	function drawSelected() {
		const ul = $("#r-selected");
		ul.replaceChildren(...[...R.selected].sort().map((p) => h("li", null, p,
			h("button", { type: "button", title: "Leave out", ariaLabel: `Leave out ${p}`,
				onclick: () => {
					R.selected.delete(p);
					drawSelected();
					for (const b of document.querySelectorAll("#r-files input[type=checkbox]"))
						if (b.closest("tr").dataset.path.replace(/\/+$/, "") === p.replace(/\/+$/, ""))
							b.checked = false;
				} }, "×"))));
		$("#r-count").textContent = R.selected.size ? `(${R.selected.size})` : "(none: choose files or folders above)";
		$("#r-go").disabled = R.selected.size === 0 || R.timer !== null;
	}

	function showRestore(st) {
		$("#r-progress").hidden = false;
		const bar = $("#r-bar");
		const total = st.bytes_total || 0;
		if (total > 0) {
			bar.max = total;
			bar.value = Math.min(st.bytes || 0, total);
		} else if (st.state === "running") {
			bar.removeAttribute("value");
		} else {
			bar.max = 1;
			bar.value = 1;
		}
		const sum = `${plural(st.files ?? 0, "file")}, ${fmtBytes(st.bytes ?? 0)}` +
			(total ? ` of ${fmtBytes(total)}` : "") +
			(st.kept ? `; ${fmtNum(st.kept)} left as they were (they exist: tick overwrite to replace them)` : "") +
			(st.warnings ? `; ${fmtNum(st.warnings)} warnings (see the log)` : "");
		const p = $("#r-state");
		p.dataset.state = st.state;
		p.className = st.state === "failed" ? "error-text" : st.state === "done" ? "ok-text" : "";
		const where = st.target || R.target;
		if (st.state === "running")
			p.textContent = `Restoring: ${sum}…`;
		else if (st.state === "done")
			p.textContent = `Restored ${sum} to ${where}` +
				(typeof st.written === "number" ? ` (${fmtBytes(st.written)} of file data written).` : ".");
		else
			p.textContent = `The restore failed: ${st.error || "no reason given"} (${sum} written).`;
	}

	async function pollRestore() {
		let st;
		try {
			st = await api(`restores/${enc(R.rid)}`);
		} catch (e) {
			restoreError(e.message);
			R.timer = setTimeout(pollRestore, POLL_MS * 2);
			return;
		}
		showRestore(st);
		if (st.state === "running") {
			R.timer = setTimeout(pollRestore, POLL_MS);
		} else {
			R.timer = null;
			drawSelected();
		}
	}

	$("#r-job").addEventListener("change", (ev) => pickJob(ev.currentTarget.value));
	$("#r-search").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const q = $("#r-q").value.trim();
		if (q === "")
			browse(R.dir);
		else
			search(q);
	});
	$("#r-browse").addEventListener("click", () => {
		$("#r-q").value = "";
		browse(R.dir);
	});
	$("#r-more").addEventListener("click", () => listFiles(true));
	$("#r-form").addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const target = $("#r-target").value.trim();
		if (R.selected.size === 0 || target === "" || R.timer !== null)
			return;
		restoreError("");
		$("#r-progress").hidden = true;
		$("#r-go").disabled = true;
		try {
			const r = await api("restores", { method: "POST", body: {
				job: R.job, id: R.id, paths: [...R.selected], target,
				overwrite: $("#r-overwrite").checked } });
			R.rid = r.restore;
			R.target = target;
			showRestore({ state: "running", files: 0, bytes: 0, bytes_total: 0 });
			R.timer = setTimeout(pollRestore, 200);
		} catch (e) {
			restoreError(e.status === 403 ? `Refused: ${e.message}` : e.message);
		} finally {
			drawSelected();
		}
	});

	views.restore = {
		async refresh() {
			const { jobs } = await api("jobs");
			const sel = $("#r-job");
			const names = jobs.map((j) => j.name);
			const have = [...sel.options].slice(1).map((o) => o.value);
			if (names.join("\n") !== have.join("\n")) {
				sel.replaceChildren(h("option", { value: "" }, "choose a job"),
					...names.map((n) => h("option", { value: n }, n)));
				sel.value = names.includes(R.job) ? R.job : "";
				if (!names.includes(R.job) && R.job)
					pickJob("");
			}
			const roots = status.restore_roots;
			if (Array.isArray(roots)) {
				$("#r-roots").replaceChildren(...roots.map((r) => h("option", { value: r })));
				$("#r-roots-note").textContent = roots.length ?
					`Restore roots: ${roots.join(", ")}. The target must be one of them or a folder below.` :
					"No restore root is configured (http.restore_roots): restoring from the web is off.";
				if ($("#r-target").value === "" && roots.length)
					$("#r-target").value = roots[0];
			} else {
				$("#r-roots-note").textContent = "The target must be under one of http.restore_roots.";
			}
		},
	};

	// ---- start -----------------------------------------------------------

	if (token)
		enter();
	else
		signOut("");
})();
