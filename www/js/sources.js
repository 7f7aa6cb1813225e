// sources.js: the admins' page of data sources: list, add, change, test
// the connection (with the API's warning about a privileged role), delete.
import {api, errorText} from "./api.js";
import {$, confirmButton, el, say, showFieldErrors} from "./dom.js";
import {initNav} from "./nav.js";

const form = $("#source");
const field = (name) => form.elements.namedItem(name);
const TEXT = ["name", "host", "dbname", "username"];
let editing = null;	// the source being changed, or null to add one

function edit(s) {
	editing = s;
	$("#form-title").textContent = "Change " + s.name;
	for (const k of TEXT)
		field(k).value = s[k];
	field("port").value = s.port;
	field("password").value = "";
	$("#pw-keep").hidden = false;
	$("#save").textContent = "Save";
	$("#cancel").hidden = false;
	showFieldErrors(form, {});
	field("name").focus();
}

function reset() {
	editing = null;
	form.reset();
	$("#form-title").textContent = "Add a data source";
	$("#pw-keep").hidden = true;
	$("#save").textContent = "Add data source";
	$("#cancel").hidden = true;
	showFieldErrors(form, {});
}

// Tests the connection; the outcome goes in the row's own message line.
async function test(s, out, button) {
	button.disabled = true;
	say(out, "Testing\u2026", "ok");
	try {
		const r = await api("POST", "/api/datasources/" + s.id +
		    "/test", {});
		if (r.warning)
			say(out, "Connected in " + r.timing_ms + " ms. " +
			    "Warning: " + r.warning, "warn");
		else
			say(out, "Connected in " + r.timing_ms + " ms.", "ok");
	} catch (e) {
		say(out, errorText(e));
	} finally {
		button.disabled = false;
	}
}

async function remove(s) {
	try {
		await api("DELETE", "/api/datasources/" + s.id);
		say($("#msg"), "Deleted " + s.name + ".", "ok");
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

function rows(s) {
	const out = el("p", {class: "msg", hidden: true, role: "status"});
	const testButton = el("button", {type: "button", class: "small"},
	    "Test");
	testButton.addEventListener("click", () => test(s, out, testButton));
	const main = el("tr", {},
	    el("td", {}, s.name),
	    el("td", {class: "mono"}, s.host + ":" + s.port),
	    el("td", {}, s.dbname),
	    el("td", {}, s.username),
	    el("td", {}, s.has_password ? "stored (key " + s.key_version + ")" :
	    "none"),
	    el("td", {class: "num"}, String(s.query_count)),
	    el("td", {class: "inline"}, testButton,
	    el("button", {type: "button", class: "small",
	    onclick: () => edit(s)}, "Change"),
	    confirmButton("Delete", () => remove(s))));
	main.dataset.source = String(s.id);
	return [main, el("tr", {class: "outcome"},
	    el("td", {colspan: 7}, out))];
}

async function load() {
	const l = await api("GET", "/api/datasources");
	$("#sources tbody").replaceChildren(...l.items.flatMap(rows));
	if (l.items.length === 0)
		$("#sources tbody").append(el("tr", {}, el("td", {colspan: 7,
		    class: "muted"}, "No data sources yet.")));
}

async function submit(ev) {
	ev.preventDefault();
	const b = {port: Number(field("port").value) || 5432};
	for (const k of TEXT)
		b[k] = field(k).value.trim();
	if (field("password").value)
		b.password = field("password").value;
	try {
		const r = editing ?
		    await api("PATCH", "/api/datasources/" + editing.id, b) :
		    await api("POST", "/api/datasources", b);
		say($("#msg"), (editing ? "Saved " : "Added ") +
		    r.datasource.name + "; test it below.", "ok");
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
	$("#cancel").addEventListener("click", reset);
	try {
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

main();
