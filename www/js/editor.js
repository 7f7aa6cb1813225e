// editor.js: write or change a query (editors and admins): SQL with
// highlighting (Debian's CodeMirror 5), its data source, a dry-run, the
// schedule with its next fire times as you type, and save, with the API's
// validation messages beside their fields.
import {api, errorText} from "./api.js";
import {$, el, param, say, showFieldErrors} from "./dom.js";
import {initNav} from "./nav.js";
import {drawTable} from "./result.js";

// Settings that may be unset (empty: the default), and those that may not.
const SETTINGS = ["timeout_ms", "max_rows", "pause_after_failures",
    "keep_runs", "keep_days"];
const COUNTS = ["max_retries", "retry_delay_s"];
const DRY_ROWS = 100;
const PREVIEW_DELAY_MS = 250;

const form = $("#query");
const field = (name) => form.elements.namedItem(name);
const qid = Number(param("id")) || null;
let query = null;	// the saved query being changed, or null
let sql = null;		// the CodeMirror editor
let previewSeq = 0;
let previewTimer = null;

// Data sources to choose from: their ids and names, which editors may
// read too (the rest of a source is the admins').
async function sources() {
	return (await api("GET", "/api/datasources/names")).items;
}

function fillSources(list) {
	const sel = field("data_source_id");
	sel.replaceChildren(el("option", {value: ""}, "\u2013 choose \u2013"),
	    ...list.map((s) => el("option", {value: s.id}, s.name)));
}

function fillZones() {
	const zones = typeof Intl.supportedValuesOf === "function" ?
	    Intl.supportedValuesOf("timeZone") : [];
	$("#zones").replaceChildren(...["UTC", ...zones].map((z) =>
	    el("option", {value: z})));
}

function fill(q) {
	for (const k of ["name", "title", "schedule_type", "timezone"])
		field(k).value = q[k];
	field("description").value = q.description || "";
	field("schedule_expr").value = q.schedule_expr || "";
	field("start_at").value = q.start_at || "";
	field("data_source_id").value = String(q.data_source_id);
	field("enabled").checked = q.enabled;
	field("visibility").value = q.visibility || "";
	for (const k of SETTINGS.concat(COUNTS))
		field(k).value = q[k] === null || q[k] === undefined ? "" :
		    q[k];
	field("max_staleness").value = q.max_staleness === null ||
	    q.max_staleness === undefined ? "" : String(q.max_staleness);
	sql.setValue(q.sql_text);
	$("#heading").textContent = "Edit " + (q.title || q.name);
	$("#cancel").href = "/query.html?id=" + q.id;
}

// The body of a create (POST) or a change (PATCH, with the version read).
function body() {
	const b = {
		name: field("name").value.trim(),
		title: field("title").value.trim(),
		sql_text: sql.getValue(),
		schedule_type: field("schedule_type").value,
		schedule_expr: field("schedule_expr").value.trim(),
		timezone: field("timezone").value.trim() || "UTC",
		enabled: field("enabled").checked,
	};
	// Not given: the server's default for a new query (RUNS_PUBLIC).
	if (field("visibility").value)
		b.visibility = field("visibility").value;
	const desc = field("description").value.trim();
	if (desc || query)
		b.description = desc || null;
	if (field("data_source_id").value)
		b.data_source_id = Number(field("data_source_id").value);
	const start = field("start_at").value.trim();
	if (start || query)
		b.start_at = start || null;
	for (const k of SETTINGS) {
		const v = field(k).value.trim();
		if (v || query)
			b[k] = v === "" ? null : Number(v);
	}
	for (const k of COUNTS)
		if (field(k).value.trim() !== "")
			b[k] = Number(field(k).value);
	// An ISO 8601 duration or seconds, as typed: the API's rule reads it.
	const stale = field("max_staleness").value.trim();
	if (stale || query)
		b.max_staleness = stale || null;
	if (query)
		b.version = query.version;
	return b;
}

async function save(ev) {
	ev.preventDefault();
	$("#save").disabled = true;
	say($("#msg"), "");
	try {
		const r = query ? await api("PATCH", "/api/admin/queries/" +
		    query.id, body()) : await api("POST", "/api/admin/queries",
		    body());
		location.assign("/query.html?id=" + r.query.id);
	} catch (e) {
		const shown = showFieldErrors(form, e.fields);
		say($("#msg"), errorText(e, shown));
		$("#save").disabled = false;
	}
}

async function dryRun() {
	const b = $("#dry-run");
	if (!field("data_source_id").value) {
		showFieldErrors(form, {data_source_id: "choose a data source"});
		return;
	}
	b.disabled = true;
	say($("#dry-msg"), "Running\u2026", "ok");
	$("#dry-out").replaceChildren();
	try {
		const r = await api("POST", "/api/admin/queries/test", {
			sql_text: sql.getValue(),
			data_source_id: Number(field("data_source_id").value),
			limit: DRY_ROWS,
		}, {exact: true});
		showFieldErrors(form, {});
		say($("#dry-msg"), r.row_count + " rows in " + r.timing_ms +
		    " ms" + (r.truncated ? " (the first " + DRY_ROWS + ")" :
		    ""), "ok");
		drawTable($("#dry-out"), r.columns.map((name) => ({name})),
		    r.rows);
	} catch (e) {
		const shown = showFieldErrors(form, e.fields);
		say($("#dry-msg"), errorText(e, shown));
	} finally {
		b.disabled = false;
	}
}

// The preview's anchor of an interval: start_at, else the saved query's
// creation; a new query's slots start when it is saved (the API's
// default, "from").
function previewBody() {
	const b = {
		schedule_type: field("schedule_type").value,
		schedule_expr: field("schedule_expr").value.trim(),
		timezone: field("timezone").value.trim() || "UTC",
	};
	const anchor = field("start_at").value.trim() ||
	    (query && query.created_at);
	if (anchor)
		b.start_at = anchor;
	if (field("from").value.trim())
		b.from = field("from").value.trim();
	return b;
}

function previewNote(text) {
	$("#preview-note").textContent = text;
	$("#preview-note").hidden = !text;
}

async function preview() {
	const seq = ++previewSeq;
	const box = $("#schedule");
	const b = previewBody();
	if (b.schedule_type === "cron" && b.schedule_expr === "") {
		showFieldErrors(box, {});
		$("#preview").replaceChildren();
		previewNote("Type a cron expression to see its fire times.");
		return;
	}
	try {
		const r = await api("POST", "/api/admin/schedule/preview", b);
		if (seq !== previewSeq)
			return;
		showFieldErrors(box, {});
		previewNote("");
		$("#preview-from").textContent = "(after " + r.from + ")";
		$("#preview").replaceChildren(...r.items.map((i) =>
		    el("li", {class: i.flags ? "dst" : null}, i.line)));
	} catch (e) {
		if (seq !== previewSeq)
			return;
		const shown = showFieldErrors(box, e.fields);
		$("#preview-from").textContent = "";
		$("#preview").replaceChildren();
		previewNote(shown.length ? "Fix the schedule to see its fire " +
		    "times." : errorText(e));
	}
}

function previewSoon() {
	clearTimeout(previewTimer);
	previewTimer = setTimeout(preview, PREVIEW_DELAY_MS);
}

async function main() {
	const who = await initNav("editor");
	if (!who)
		return;
	sql = CodeMirror.fromTextArea(field("sql_text"), {mode: "text/x-pgsql",
	    lineNumbers: true, indentUnit: 4});
	fillZones();
	try {
		const [list, q] = await Promise.all([sources(),
		    qid ? api("GET", "/api/admin/queries/" + qid) : null]);
		fillSources(list);
		if (q) {
			query = q.query;
			fill(query);
		}
	} catch (e) {
		say($("#msg"), errorText(e));
		return;
	}
	form.addEventListener("submit", save);
	$("#dry-run").addEventListener("click", dryRun);
	for (const k of ["schedule_type", "schedule_expr", "timezone",
	    "start_at", "from"])
		field(k).addEventListener("input", previewSoon);
	await preview();
	document.body.dataset.ready = "1";
}

main();
