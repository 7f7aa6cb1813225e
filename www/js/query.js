// query.js: one query: what it is, its latest result as a table and a
// chart, its run history, and for editors run now, enable/disable, edit.
import {api, errorText, withQuery} from "./api.js";
import {$, badge, el, fmtMs, fmtRelative, fmtTime, markPainted, param,
    say, statusBadge, timeEl} from "./dom.js";
import {initNav, RANK, toLogin} from "./nav.js";
import {cellNumber, cellText, chartable, drawTable, fromTableDoc}
    from "./result.js";
import {drawChart} from "./chartview.js";
import {scheduleWords} from "./sched-words.js";

// The formats a run's result downloads in (GET /api/runs/{id}?format=);
// a new format is one line here.
const FORMATS = [
	{format: "csv", label: "CSV"},
	{format: "xlsx", label: "XLSX"},
];
const HISTORY_ROWS = 20;
const CHART_RUNS = 30;
const FINAL = new Set(["success", "error", "skipped"]);
// Series of the runs themselves, beside the result's numeric columns.
const RUN_SERIES = [
	{key: "#rows", label: "rows returned", of: (r) => r.rows_returned},
	{key: "#duration", label: "duration (ms)", of: (r) => r.duration_ms},
];

const qid = Number(param("id"));
const runsPath = "/api/queries/" + qid + "/runs";
const page = {rank: 0, query: null, run: null, table: null, chart: null,
    chartSeq: 0, history: {}};

function metaRow(term, ...value) {
	return [el("dt", {}, term), el("dd", {}, ...value)];
}

function showAbout(q) {
	const s = q.stats;
	page.query = q;
	document.title = (q.title || q.name) + " \u00b7 pg-sched";
	$("#title").textContent = q.title || q.name;
	$("#name").textContent = q.name;
	$("#description").textContent = q.description || "";
	$("#meta").replaceChildren(
	    ...metaRow("Schedule", scheduleWords(q.schedule_type,
	    q.schedule_expr), " ", el("span", {class: "muted mono"},
	    "(" + q.schedule_type + " " + (q.schedule_expr || "") + ", " +
	    q.timezone + ")")),
	    ...metaRow("State", q.paused_at ? badge("paused", "paused") :
	    q.enabled ? badge("enabled", "on") : badge("disabled", "off"),
	    q.pause_reason ? " " + q.pause_reason : ""),
	    ...metaRow("Next run", q.enabled && q.next_run_at ?
	    [timeEl(q.next_run_at), " (" + fmtRelative(q.next_run_at) + ")"] :
	    "\u2013"),
	    ...metaRow("Last run", statusBadge(s.last_run_status), " ",
	    timeEl(s.last_run_at), s.last_run_duration_ms !== null ?
	    " in " + fmtMs(s.last_run_duration_ms) : ""),
	    ...metaRow("Runs", s.total_runs + " (" + s.successful_runs +
	    " succeeded, " + s.failed_runs + " failed, " + s.skipped_runs +
	    " skipped)"));
	$("#toggle").textContent = q.enabled ? "Disable" : "Enable";
}

// Editors: the next fire times, as pgsched-admin schedule next lists them.
async function showFires() {
	const r = await api("GET", "/api/admin/queries/" + qid);
	$("#fires ol").replaceChildren(...r.query.next_runs.map((f) =>
	    el("li", {class: f.flags ? "dst" : null}, f.line)));
	$("#fires").hidden = r.query.next_runs.length === 0;
}

function runMeta(run) {
	const parts = ["Run #" + run.id, run.status,
	    "scheduled " + fmtTime(run.scheduled_at)];
	if (run.rows_returned !== null && run.rows_returned !== undefined)
		parts.push(run.rows_returned + " rows");
	if (run.duration_ms !== null && run.duration_ms !== undefined)
		parts.push(fmtMs(run.duration_ms));
	if (run.truncated)
		parts.push("truncated at the row or size limit");
	return parts.join(" \u00b7 ");
}

// The chart's choices: numeric columns over the rows; over the runs also
// the runs' own row counts and durations.
function chartChoices(over) {
	const cols = page.table ? chartable(page.table) : [];
	const choices = cols.map((c) => ({key: "col:" + c.name,
	    label: over === "runs" ? c.name + " (first row)" : c.name}));
	return over === "runs" ? choices.concat(RUN_SERIES) : choices;
}

function fillChartChoices() {
	const over = $("input[name=over]:checked").value;
	const sel = $("#chart-col");
	const keep = sel.value;
	const choices = chartChoices(over);
	sel.replaceChildren(...choices.map((c) => el("option",
	    {value: c.key, selected: c.key === keep}, c.label)));
	return choices.length > 0;
}

const LABEL_CHARS = 24;

// Labels of the rows: the first datetime column, else the first column
// that is not charted, else 1..n; long ones cut.
function rowLabels(t) {
	const charted = chartable(t);
	let i = t.columns.findIndex((c) => c.type === "datetime");
	if (i < 0)
		i = t.columns.findIndex((c) => !charted.includes(c));
	const text = i >= 0 && t.columns[i].type === "datetime" ? fmtTime :
	    (v) => {
		const s = cellText(v);
		return s.length > LABEL_CHARS ?
		    s.slice(0, LABEL_CHARS - 1) + "\u2026" : s;
	};
	return t.rows.map((r, n) => i >= 0 ? text(r[i]) : String(n + 1));
}

async function seriesOverRuns(key) {
	const l = await api("GET", withQuery(runsPath, {status: "success",
	    limit: CHART_RUNS}));
	const runs = l.items.slice().reverse();
	const labels = runs.map((r) => fmtTime(r.run_started_at ||
	    r.scheduled_at));
	const own = RUN_SERIES.find((s) => s.key === key);
	if (own)
		return {labels, values: runs.map(own.of)};
	const name = key.slice(4);
	const docs = await Promise.all(runs.map((r) => r.has_result ?
	    api("GET", "/api/runs/" + r.id, undefined, {exact: true}) : null));
	const values = docs.map((d) => {
		const row = d && d.result && d.result.data && d.result.data[0];
		return row ? cellNumber(row[name]) : null;
	});
	return {labels, values};
}

async function updateChart() {
	const key = $("#chart-col").value;
	const label = $("#chart-col").selectedOptions[0].textContent;
	const seq = ++page.chartSeq;
	let s;
	if ($("input[name=over]:checked").value === "rows") {
		const t = page.table;
		const i = t.columns.findIndex((c) => "col:" + c.name === key);
		s = {labels: rowLabels(t),
		    values: t.rows.map((r) => cellNumber(r[i]))};
	} else {
		s = await seriesOverRuns(key);
		if (seq !== page.chartSeq)
			return;		// a later choice is being drawn
	}
	page.chart = drawChart($("#chart"), page.chart, s.labels, s.values,
	    label);
}

async function drawChartArea() {
	$("#chart-area").hidden = !fillChartChoices();
	if (!$("#chart-area").hidden)
		await updateChart();
}

// Older and newer neighbours of a run (any status), for the buttons.
async function neighbours(run) {
	const [o, n] = await Promise.all([
	    api("GET", withQuery(runsPath, {before: run.id, limit: 1})),
	    api("GET", withQuery(runsPath, {after: run.id, limit: 1}))]);
	if (page.run !== run)
		return;
	page.older = o.items.length ? o.items[0].id : null;
	page.newer = n.items.length ? n.items[0].id : null;
	$("#older").disabled = page.older === null;
	$("#newer").disabled = page.newer === null;
}

function showDownloads(run) {
	$("#downloads").replaceChildren(...(run.has_result ? FORMATS : [])
	    .map((f) => el("a", {class: "button small", download: "",
	    title: "Download " + f.label, href: "/api/runs/" + run.id +
	    "?format=" + f.format}, f.label)));
}

// Shows a run (with its result document) in the result card.
async function showRun(run) {
	page.run = run;
	// The neighbours of the run shown before are not this one's.
	page.older = page.newer = null;
	$("#older").disabled = $("#newer").disabled = true;
	$("#run-meta").textContent = runMeta(run);
	showDownloads(run);
	markHistory();
	if (run.status === "success" && run.result) {
		say($("#run-msg"), run.truncated ? "This result was cut at " +
		    "the query's row or size limit." : "", "warn");
		page.table = fromTableDoc(run.result);
		drawTable($("#table"), page.table.columns, page.table.rows);
		markPainted("pgsched:table");
		await drawChartArea();
	} else {
		page.table = null;
		$("#table").replaceChildren();
		$("#chart-area").hidden = true;
		say($("#run-msg"), "Run #" + run.id + " " + run.status +
		    (run.error_message ? ": " + run.error_message : "") + ".",
		    run.status === "error" ? "error" : "warn");
	}
	await neighbours(run);
}

async function openRun(id) {
	try {
		await showRun(await api("GET", "/api/runs/" + id, undefined,
		    {exact: true}));
		history.replaceState(null, "", "?id=" + qid + "&run=" + id);
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

function markHistory() {
	for (const tr of $("#runs tbody").children)
		tr.classList.toggle("current", page.run !== null &&
		    tr.dataset.run === String(page.run.id));
}

function historyRow(r) {
	const link = el("a", {href: "?id=" + qid + "&run=" + r.id}, "#" + r.id);
	link.addEventListener("click", (ev) => {
		ev.preventDefault();
		openRun(r.id);
	});
	const tr = el("tr", {},
	    el("td", {}, link),
	    el("td", {}, timeEl(r.scheduled_at)),
	    el("td", {}, r.run_started_at ? timeEl(r.run_started_at) : ""),
	    el("td", {}, statusBadge(r.status)),
	    el("td", {class: "num"}, fmtMs(r.duration_ms)),
	    el("td", {class: "num"}, r.rows_returned === null ||
	    r.rows_returned === undefined ? "" : String(r.rows_returned)),
	    el("td", {}, r.triggered_by || ""),
	    el("td", {class: "err"}, r.error_message || ""));
	tr.dataset.run = String(r.id);
	return tr;
}

// One page of the history: newest first; before/after are run ids.
async function loadHistory(pos = {}) {
	const l = await api("GET", withQuery(runsPath,
	    {limit: HISTORY_ROWS, ...pos}));
	page.history = {older: l.next_before, newer: l.prev_after};
	$("#runs tbody").replaceChildren(...l.items.map(historyRow));
	if (l.items.length === 0)
		$("#runs tbody").append(el("tr", {}, el("td", {colspan: 8,
		    class: "muted"}, "No runs yet.")));
	$("#hist-older").disabled = !l.next_before;
	$("#hist-newer").disabled = !l.prev_after;
	markHistory();
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function waitForRun(id) {
	for (;;) {
		const run = await api("GET", "/api/runs/" + id, undefined,
		    {exact: true});
		if (FINAL.has(run.status))
			return run;
		await sleep(run.status === "queued" ? 300 : 700);
	}
}

async function runNow() {
	const b = $("#run-now");
	b.disabled = true;
	try {
		const q = await api("POST", "/api/admin/queries/" + qid +
		    "/run", {});
		say($("#msg"), "Run #" + q.run_id + " queued; it shows here " +
		    "when it finishes.", "ok");
		const run = await waitForRun(q.run_id);
		say($("#msg"), "Run #" + run.id + " finished: " + run.status +
		    ".", run.status === "success" ? "ok" : "error");
		showAbout(await api("GET", "/api/queries/" + qid));
		await loadHistory();
		await showRun(run);
	} catch (e) {
		say($("#msg"), errorText(e));
	} finally {
		b.disabled = false;
	}
}

async function toggle() {
	const on = !page.query.enabled;
	try {
		const r = await api("POST", "/api/admin/queries/" + qid +
		    (on ? "/enable" : "/disable"), {});
		showAbout(r.query);
		say($("#msg"), "The query is " + (on ? "enabled" : "disabled") +
		    ".", "ok");
		await showFires();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

function wire() {
	$("#run-now").addEventListener("click", runNow);
	$("#toggle").addEventListener("click", toggle);
	$("#older").addEventListener("click", () => openRun(page.older));
	$("#newer").addEventListener("click", () => openRun(page.newer));
	$("#hist-older").addEventListener("click", () =>
	    loadHistory({before: page.history.older}).catch(fail));
	$("#hist-newer").addEventListener("click", () =>
	    loadHistory({after: page.history.newer}).catch(fail));
	$("#chart-col").addEventListener("change", () =>
	    updateChart().catch(fail));
	for (const r of document.querySelectorAll("input[name=over]"))
		r.addEventListener("change", () => drawChartArea().catch(fail));
}

function fail(e) {
	if (!toLogin(e))
		say($("#msg"), errorText(e));
}

// The run the page opens with: ?run=N, else the latest successful one.
async function firstRun(q) {
	const want = Number(param("run"));
	if (Number.isInteger(want) && want > 0)
		return api("GET", "/api/runs/" + want, undefined,
		    {exact: true});
	if (q.stats.successful_runs === 0)
		return null;
	return api("GET", runsPath + "/latest", undefined, {exact: true});
}

async function main() {
	if (!Number.isInteger(qid) || qid < 1) {
		say($("#msg"), "No query id in the address (query.html?id=N).");
		return;
	}
	const hist = loadHistory().catch((e) => e);
	const [who, q] = await Promise.all([initNav(),
	    api("GET", "/api/queries/" + qid)]);
	if (!who)
		return;
	page.rank = who.rank;
	showAbout(q);
	wire();
	const run = await firstRun(q);
	if (run)
		await showRun(run);
	else
		say($("#run-msg"), "No successful run yet.", "warn");
	const h = await hist;
	if (h instanceof Error)
		fail(h);
	if (who.rank >= RANK.editor) {
		$("#actions").hidden = false;
		$("#edit").href = "/editor.html?id=" + qid;
		await showFires();
	}
}

main().catch(fail);
