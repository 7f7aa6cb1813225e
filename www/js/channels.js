// channels.js: the admins' page of notification channels: list, add,
// change, enable or disable, test (a ping sent now), rotate the signing
// secret, delete.  A secret is shown once, from the answer that made it.
import {api, errorText} from "./api.js";
import {$, badge, confirmButton, el, say, showFieldErrors} from "./dom.js";
import {initNav} from "./nav.js";

const form = $("#channel");
const field = (name) => form.elements.namedItem(name);
let editing = null;	// the channel being changed, or null to add one

// Shows the URL or the addresses field, as the kind asks.
function kindChanged() {
	const email = field("kind").value === "email";
	for (const id of ["#l-url", "#f-url"])
		$(id).hidden = email;
	for (const id of ["#l-addresses", "#f-addresses"])
		$(id).hidden = !email;
}

function showSecret(secret) {
	$("#secret").textContent = secret;
	$("#secret-box").hidden = false;
}

function hideSecret() {
	$("#secret").textContent = "";
	$("#secret-box").hidden = true;
}

function edit(c) {
	editing = c;
	$("#form-title").textContent = "Change " + c.name;
	field("name").value = c.name;
	field("kind").value = c.kind;
	field("kind").disabled = true;
	field("url").value = "";
	field("addresses").value = (c.addresses || []).join(", ");
	$("#url-keep").hidden = false;
	$("#save").textContent = "Save";
	$("#cancel").hidden = false;
	kindChanged();
	showFieldErrors(form, {});
	field("name").focus();
}

function reset() {
	editing = null;
	form.reset();
	field("kind").disabled = false;
	$("#form-title").textContent = "Add a channel";
	$("#url-keep").hidden = true;
	$("#save").textContent = "Add channel";
	$("#cancel").hidden = true;
	kindChanged();
	showFieldErrors(form, {});
}

// Sends the ping; the outcome goes in the row's own message line.
async function test(c, out, button) {
	button.disabled = true;
	say(out, "Sending a ping\u2026", "ok");
	try {
		const r = await api("POST", "/api/admin/channels/" + c.id +
		    "/test", {});
		if (r.delivered)
			say(out, "Delivered in " + r.duration_ms + " ms" +
			    (r.status ? " (status " + r.status + ")." : "."),
			    "ok");
		else
			say(out, "Not delivered: " + (r.error || r.outcome) +
			    (r.status ? " (status " + r.status + ")" : ""));
	} catch (e) {
		say(out, errorText(e));
	} finally {
		button.disabled = false;
	}
}

async function act(what, fn) {
	try {
		await fn();
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
	return what;
}

function rotate(c) {
	return act("rotate", async () => {
		const r = await api("POST", "/api/admin/channels/" + c.id +
		    "/rotate-secret", {});
		showSecret(r.secret);
		say($("#msg"), "New secret for " + c.name + "; the previous " +
		    "one signs too for " + r.previous_secret_valid_hours +
		    " hours.", "ok");
	});
}

function toggle(c) {
	return act("toggle", async () => {
		await api("PATCH", "/api/admin/channels/" + c.id,
		    {enabled: !c.enabled});
		say($("#msg"), (c.enabled ? "Disabled " : "Enabled ") +
		    c.name + ".", "ok");
	});
}

function remove(c) {
	return act("remove", async () => {
		const r = await api("DELETE", "/api/admin/channels/" + c.id);
		say($("#msg"), "Deleted " + c.name + (r.pending_deliveries ?
		    "; " + r.pending_deliveries + " pending deliveries will " +
		    "not be sent." : "."), "ok");
	});
}

function stateCell(c) {
	return el("td", {}, c.enabled ? badge("enabled", "on") :
	    badge("disabled", "off"), c.disabled_reason ?
	    el("div", {class: "hint"}, c.disabled_reason) : null);
}

function rows(c) {
	const out = el("p", {class: "msg", hidden: true, role: "status"});
	const testButton = el("button", {type: "button", class: "small"},
	    "Test");
	testButton.addEventListener("click", () => test(c, out, testButton));
	const actions = el("td", {class: "inline"}, testButton,
	    el("button", {type: "button", class: "small",
	    onclick: () => edit(c)}, "Change"),
	    el("button", {type: "button", class: "small",
	    onclick: () => toggle(c)}, c.enabled ? "Disable" : "Enable"));
	if (c.has_secret)
		actions.append(confirmButton("Rotate secret", () => rotate(c)));
	actions.append(confirmButton("Delete", () => remove(c)));
	const main = el("tr", {},
	    el("td", {}, c.name),
	    el("td", {}, c.kind),
	    el("td", {class: "mono"}, c.target),
	    stateCell(c), actions);
	main.dataset.channel = String(c.id);
	return [main, el("tr", {class: "outcome"},
	    el("td", {colspan: 5}, out))];
}

async function load() {
	const l = await api("GET", "/api/admin/channels");
	$("#channels tbody").replaceChildren(...l.items.flatMap(rows));
	if (l.items.length === 0)
		$("#channels tbody").append(el("tr", {}, el("td", {colspan: 5,
		    class: "muted"}, "No channels yet.")));
}

function body() {
	const b = {name: field("name").value.trim()};
	if (!editing)
		b.kind = field("kind").value;
	if (field("kind").value === "email")
		b.addresses = field("addresses").value.split(",")
		    .map((s) => s.trim()).filter((s) => s !== "");
	else if (field("url").value.trim() !== "" || !editing)
		b.url = field("url").value.trim();
	return b;
}

async function submit(ev) {
	ev.preventDefault();
	hideSecret();
	try {
		const r = editing ?
		    await api("PATCH", "/api/admin/channels/" + editing.id,
		    body()) : await api("POST", "/api/admin/channels", body());
		say($("#msg"), (editing ? "Saved " : "Added ") +
		    r.channel.name + "; test it below.", "ok");
		if (r.secret)
			showSecret(r.secret);
		reset();
		await load();
	} catch (e) {
		say($("#msg"), errorText(e, showFieldErrors(form, e.fields)));
	}
}

async function main() {
	if (!await initNav("admin"))
		return;
	form.addEventListener("submit", submit);
	field("kind").addEventListener("change", kindChanged);
	$("#cancel").addEventListener("click", reset);
	$("#secret-done").addEventListener("click", hideSecret);
	kindChanged();
	try {
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

main();
