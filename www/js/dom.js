// dom.js: building the page.  Text always goes in as text nodes, never as
// HTML, so a result value or an error message can hold any characters.

// el("td", {class: "num"}, "42", child): an element with attributes
// (on* keys add listeners) and children (strings become text nodes).
export function el(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === "class")
			e.className = v;
		else if (k.startsWith("on"))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? "" : String(v));
	}
	for (const c of children.flat()) {
		if (c === undefined || c === null || c === false)
			continue;
		e.append(c instanceof Node ? c :
		    document.createTextNode(String(c)));
	}
	return e;
}

export function $(sel, root = document) {
	return root.querySelector(sel);
}

// Shows text in a message box (kind: error, ok, warn); "" hides it.
export function say(box, text, kind = "error") {
	box.textContent = text;
	box.className = "msg " + kind;
	box.hidden = !text;
}

const pad = (n) => String(n).padStart(2, "0");

// "2026-03-30 09:00:00" in the browser's zone; "" for none.
export function fmtTime(iso) {
	if (!iso)
		return "";
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return String(iso);
	return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" +
	    pad(d.getDate()) + " " + pad(d.getHours()) + ":" +
	    pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

// A <time> with the local time, and the instant itself as its title.
export function timeEl(iso) {
	return iso ? el("time", {datetime: iso, title: iso}, fmtTime(iso)) :
	    el("span", {class: "muted"}, "never");
}

// "in 4 min", "3 h ago".
export function fmtRelative(iso, now = Date.now()) {
	const s = Math.round((new Date(iso).getTime() - now) / 1000);
	const a = Math.abs(s);
	const v = a < 60 ? a + " s" : a < 3600 ? Math.round(a / 60) + " min" :
	    a < 172800 ? Math.round(a / 3600) + " h" :
	    Math.round(a / 86400) + " d";
	return s >= 0 ? "in " + v : v + " ago";
}

export function fmtMs(ms) {
	if (ms === null || ms === undefined)
		return "";
	if (ms < 1000)
		return ms + " ms";
	if (ms < 60000)
		return (ms / 1000).toFixed(1) + " s";
	return Math.floor(ms / 60000) + " min " +
	    Math.round(ms % 60000 / 1000) + " s";
}

export function badge(text, cls) {
	return el("span", {class: "badge " + cls}, text);
}

export function statusBadge(status) {
	return status ? badge(status, "st-" + status) :
	    el("span", {class: "muted"}, "none");
}

// Shows the API's field messages beside the fields of root (elements
// with data-error-for="name") and marks the inputs; returns the names
// shown there.
export function showFieldErrors(root, fields = {}) {
	const shown = [];
	for (const p of root.querySelectorAll("[data-error-for]")) {
		const f = p.dataset.errorFor;
		const input = root.querySelector("[name=\"" + f + "\"]");
		p.textContent = fields[f] || "";
		if (input)
			input.setAttribute("aria-invalid", fields[f] ? "true" :
			    "false");
		if (fields[f])
			shown.push(f);
	}
	return shown;
}

// A button that asks once more before it acts: the first click turns it
// into "Really ...?" for a few seconds.
export function confirmButton(label, action) {
	const b = el("button", {type: "button", class: "small danger"}, label);
	let armed = null;
	b.addEventListener("click", () => {
		if (armed === null) {
			b.textContent = "Really " + label.toLowerCase() + "?";
			armed = setTimeout(() => {
				armed = null;
				b.textContent = label;
			}, 4000);
			return;
		}
		clearTimeout(armed);
		armed = null;
		b.textContent = label;
		action();
	});
	return b;
}

// Sets performance mark name once, when the frame holding what was just
// drawn has been painted (the next animation frame, then its end).
export function markPainted(name) {
	requestAnimationFrame(() => setTimeout(() => {
		if (performance.getEntriesByName(name).length === 0)
			performance.mark(name);
	}, 0));
}

// The query parameter name of this page's URL, or null.
export function param(name) {
	return new URLSearchParams(location.search).get(name);
}
