// result.js: results as tables, paged in the browser.  A stored result is
// pandas orient='table' JSON (CONTRACT section 4): schema.fields gives
// each column's name and type, data one object per row.
import {el} from "./dom.js";

const NUMERIC = new Set(["integer", "number"]);
export const PAGE_ROWS = 50;

export function isNumeric(col) {
	return NUMERIC.has(col.type);
}

const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

// The columns a chart can show: numbers, and string columns holding only
// numbers (exact decimals the serialiser kept as text, CONTRACT section 4).
export function chartable(t) {
	return t.columns.filter((c, i) => isNumeric(c) ||
	    (c.type === "string" && t.rows.some((r) => r[i] !== null) &&
	    t.rows.every((r) => r[i] === null || NUMBER_TEXT.test(r[i]))));
}

// The text of a value: exact numbers (JSON.rawJSON) as their source text,
// JSON values as JSON, the rest as strings.
export function cellText(v) {
	if (v === null || v === undefined)
		return "null";
	if (typeof v === "object")
		return typeof JSON.isRawJSON === "function" &&
		    JSON.isRawJSON(v) ? v.rawJSON : JSON.stringify(v);
	return String(v);
}

// A value as a number for charts (approximate by nature); null if none.
export function cellNumber(v) {
	if (v === null || v === undefined || v === "")
		return null;
	const n = Number(typeof v === "object" ? cellText(v) : v);
	return Number.isFinite(n) ? n : null;
}

// {columns: [{name, type}], rows: [[...]]} of an orient='table' document;
// the pandas index column is left out.
export function fromTableDoc(doc) {
	const pk = (doc.schema && doc.schema.primaryKey) || [];
	const columns = ((doc.schema && doc.schema.fields) || [])
	    .filter((f) => !pk.includes(f.name))
	    .map((f) => ({name: f.name, type: f.type}));
	const rows = (doc.data || []).map((o) => columns.map((c) => o[c.name]));
	return {columns, rows};
}

function cell(v, col) {
	const cls = [isNumeric(col) ? "num" : "",
	    v === null || v === undefined ? "null" : ""].join(" ").trim();
	return el("td", {class: cls || null}, cellText(v));
}

function head(columns) {
	return el("thead", {}, el("tr", {}, columns.map((c) =>
	    el("th", {class: isNumeric(c) ? "num" : null, scope: "col"},
	    c.name, c.type ? el("span", {class: "type"}, c.type) : null))));
}

// Draws columns and rows into box, PAGE_ROWS rows at a time, with a
// pager when there is more than one page.
export function drawTable(box, columns, rows) {
	const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
	const body = el("tbody");
	const info = el("span", {class: "muted"});
	const prev = el("button", {type: "button", class: "small"},
	    "\u2039 Previous rows");
	const next = el("button", {type: "button", class: "small"},
	    "Next rows \u203a");
	let page = 0;

	function show(p) {
		page = Math.min(Math.max(p, 0), pages - 1);
		const a = page * PAGE_ROWS;
		const part = rows.slice(a, a + PAGE_ROWS);
		body.replaceChildren(...part.map((r) =>
		    el("tr", {}, r.map((v, i) => cell(v, columns[i])))));
		info.textContent = rows.length === 0 ? "no rows" :
		    "rows " + (a + 1) + "\u2013" + (a + part.length) + " of " +
		    rows.length;
		prev.disabled = page === 0;
		next.disabled = page === pages - 1;
	}
	prev.addEventListener("click", () => show(page - 1));
	next.addEventListener("click", () => show(page + 1));
	box.replaceChildren(
	    el("div", {class: "scroll"},
	    el("table", {class: "data"}, head(columns), body)),
	    el("div", {class: "pager"}, pages > 1 ? prev : null, info,
	    pages > 1 ? next : null));
	show(0);
}
