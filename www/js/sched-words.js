// sched-words.js: a schedule in words for people ("at 09:00 on Mon-Fri").
// Only for reading: the API decides what a schedule means and when it
// fires (its next runs are shown beside these words).
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MACROS = {
	"@hourly": "every hour",
	"@daily": "every day at 00:00",
	"@midnight": "every day at 00:00",
	"@weekly": "every Sunday at 00:00",
	"@monthly": "on the 1st of every month at 00:00",
	"@yearly": "every 1 January at 00:00",
	"@annually": "every 1 January at 00:00",
};
const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60],
    ["second", 1]];

function plural(n, unit) {
	return n + " " + unit + (n === 1 ? "" : "s");
}

// Seconds of "PT6H", "P1DT12H", "P2W", "3600"; null when not one of them.
function durationSeconds(expr) {
	if (/^\d+$/.test(expr))
		return Number(expr);
	const m = new RegExp("^P(?:(\\d+)W)?(?:(\\d+)D)?" +
	    "(?:T(?:(\\d+)H)?(?:(\\d+)M)?(?:(\\d+)S)?)?$", "i").exec(expr);
	if (!m || expr.length < 3)
		return null;
	const [w, d, h, mi, s] = m.slice(1).map((x) => Number(x || 0));
	return (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s;
}

function intervalWords(expr) {
	if (!expr)
		return "every DEFAULT_QUERY_INTERVAL seconds";
	let s = durationSeconds(expr.trim());
	if (s === null || s === 0)
		return "every " + expr;
	const parts = [];
	for (const [unit, n] of UNITS) {
		if (s >= n) {
			parts.push(plural(Math.floor(s / n), unit));
			s %= n;
		}
	}
	return "every " + (parts.length === 1 && parts[0].startsWith("1 ") ?
	    parts[0].slice(2) : parts.join(" "));
}

function dayWords(dow) {
	return dow.split(",").map((p) => p.replace(/\d/g,
	    (d) => DAYS[Number(d)] || d).replace("-", "\u2013")).join(", ");
}

function cronWords(expr) {
	const e = expr.trim().toLowerCase();
	if (MACROS[e])
		return MACROS[e];
	const f = e.split(/\s+/);
	if (f.length !== 5)
		return "cron " + expr;
	const [mi, h, dom, mon, dow] = f;
	const num = (x) => /^\d+$/.test(x);
	if (mon !== "*")
		return "cron " + expr;
	if (mi === "*" && h === "*" && dom === "*" && dow === "*")
		return "every minute";
	let m = /^\*\/(\d+)$/.exec(mi);
	if (m && h === "*" && dom === "*" && dow === "*")
		return "every " + plural(Number(m[1]), "minute");
	if (num(mi) && h === "*" && dom === "*" && dow === "*")
		return "every hour at minute " + mi;
	if (!num(mi) || !/^\d+(,\d+)*$/.test(h))
		return "cron " + expr;
	const at = "at " + h.split(",").map((x) => x.padStart(2, "0") + ":" +
	    mi.padStart(2, "0")).join(", ");
	if (dom === "*" && dow === "*")
		return "every day " + at;
	if (dom === "*" && /^[\d,-]+$/.test(dow))
		return at + " on " + dayWords(dow);
	if (num(dom) && dow === "*")
		return at + " on day " + dom + " of every month";
	return "cron " + expr;
}

// "every 6 hours", "at 09:00 on Mon–Fri", or "cron EXPR" for the rest.
export function scheduleWords(type, expr) {
	return type === "interval" ? intervalWords(expr || "") :
	    cronWords(expr || "");
}
