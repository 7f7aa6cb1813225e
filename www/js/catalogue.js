// catalogue.js: the list of scheduled queries (GET /api/queries): state
// (with stale and alert state), schedule in words, next and last run,
// counts.  Paged by the API.
import {api, errorText, withQuery} from "./api.js";
import {$, badge, el, fmtMs, fmtRelative, say, statusBadge, timeEl}
    from "./dom.js";
import {initNav, RANK, toLogin} from "./nav.js";
import {scheduleWords} from "./sched-words.js";

const LIMIT = 50;
let offset = 0;

// The notification states of q: stale (no success within its
// max_staleness) and its alert, when it has one.
function notifyBadges(q) {
	const out = [];
	if (q.stale)
		out.push(" ", badge("stale", "paused"));
	if (q.alert_state === "firing")
		out.push(" ", badge("alert firing", "paused"));
	else if (q.alert_state === "ok")
		out.push(" ", badge("alert ok", "on"));
	return out;
}

function stateCell(q) {
	if (q.paused_at)
		return el("td", {}, badge("paused", "paused"),
		    ...notifyBadges(q),
		    el("div", {class: "hint"}, q.pause_reason || ""));
	return el("td", {}, q.enabled ? badge("enabled", "on") :
	    badge("disabled", "off"), ...notifyBadges(q));
}

function row(q) {
	const s = q.stats;
	const href = "/query.html?id=" + q.id;
	return el("tr", {},
	    el("td", {}, el("a", {href}, q.title || q.name),
	    el("div", {class: "hint mono"}, q.name)),
	    stateCell(q),
	    el("td", {title: q.schedule_type + " " + (q.schedule_expr || "")},
	    scheduleWords(q.schedule_type, q.schedule_expr),
	    el("div", {class: "hint"}, q.timezone)),
	    el("td", {}, q.enabled && q.next_run_at ?
	    [timeEl(q.next_run_at), el("div", {class: "hint"},
	    fmtRelative(q.next_run_at))] :
	    el("span", {class: "muted"}, "\u2013")),
	    el("td", {}, statusBadge(s.last_run_status), " ",
	    s.last_run_at ? timeEl(s.last_run_at) : "",
	    el("div", {class: "hint"}, fmtMs(s.last_run_duration_ms))),
	    el("td", {class: "num"}, String(s.total_runs),
	    s.failed_runs ? el("div", {class: "hint"},
	    s.failed_runs + " failed") : null));
}

async function load() {
	const f = $("#filter");
	say($("#msg"), "");
	try {
		const l = await api("GET", withQuery("/api/queries", {
		    limit: LIMIT, offset, q: f.q.value.trim(),
		    enabled: f.enabled.value}));
		$("#catalogue tbody").replaceChildren(...l.items.map(row));
		if (l.items.length === 0)
			$("#catalogue tbody").append(el("tr", {}, el("td",
			    {colspan: 6, class: "muted"}, "No queries.")));
		$("#count").textContent = l.total === 0 ? "" :
		    (offset + 1) + "\u2013" + (offset + l.items.length) +
		    " of " + l.total;
		$("#prev").disabled = offset === 0;
		$("#next").disabled = l.next_offset === null;
	} catch (e) {
		if (!toLogin(e))
			say($("#msg"), errorText(e));
	}
}

async function main() {
	const who = await initNav();
	if (!who)
		return;
	$("#new").hidden = who.rank < RANK.editor;
	let timer = null;
	$("#filter").addEventListener("input", () => {
		clearTimeout(timer);
		timer = setTimeout(() => {
			offset = 0;
			load();
		}, 250);
	});
	$("#filter").addEventListener("submit", (ev) => ev.preventDefault());
	$("#prev").addEventListener("click", () => {
		offset = Math.max(0, offset - LIMIT);
		load();
	});
	$("#next").addEventListener("click", () => {
		offset += LIMIT;
		load();
	});
	await load();
}

main();
