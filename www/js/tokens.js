// tokens.js: the editors' and admins' page of API tokens: list (their
// own; admins: all), create (the token is shown once) and revoke.
import {api, errorText, withQuery} from "./api.js";
import {$, badge, confirmButton, el, say, showFieldErrors, timeEl}
    from "./dom.js";
import {initNav} from "./nav.js";

const form = $("#token");
const field = (name) => form.elements.namedItem(name);

function state(t) {
	if (t.revoked_at)
		return badge("revoked", "off");
	return t.active ? badge("active", "on") : badge("expired", "off");
}

async function revoke(t) {
	try {
		await api("DELETE", "/api/tokens/" + t.id);
		say($("#msg"), "Revoked " + t.name + ".", "ok");
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

function row(t) {
	return el("tr", {},
	    el("td", {}, t.name),
	    el("td", {}, t.query_ids.join(", ")),
	    el("td", {}, state(t)),
	    el("td", {}, t.created_by_email || "pgsched-admin"),
	    el("td", {}, timeEl(t.expires_at)),
	    el("td", {}, t.last_used_at ? timeEl(t.last_used_at) : "never"),
	    el("td", {}, t.active ? confirmButton("Revoke",
	    () => revoke(t)) : ""));
}

async function load() {
	const l = await api("GET", "/api/tokens");
	$("#tokens tbody").replaceChildren(...l.items.map(row));
}

async function loadQueries() {
	const l = await api("GET", withQuery("/api/admin/queries",
	    {limit: 500}));
	field("query_ids").replaceChildren(...l.items.map((q) =>
	    el("option", {value: String(q.id)}, q.title + " (" + q.name +
	    ", " + q.visibility + ")")));
}

async function submit(ev) {
	ev.preventDefault();
	const b = {name: field("name").value.trim(),
	    query_ids: [...field("query_ids").selectedOptions]
	    .map((o) => Number(o.value)),
	    expires_in_days: Number(field("expires_in_days").value)};
	try {
		const r = await api("POST", "/api/tokens", b);
		$("#token-value").textContent = r.token;
		$("#new-token").hidden = false;
		say($("#msg"), "Created " + b.name + ".", "ok");
		showFieldErrors(form, {});
		form.reset();
		await load();
	} catch (e) {
		say($("#msg"), errorText(e, showFieldErrors(form, e.fields)));
	}
}

async function main() {
	if (!await initNav("editor"))
		return;
	form.addEventListener("submit", submit);
	try {
		await Promise.all([load(), loadQueries()]);
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

main();
