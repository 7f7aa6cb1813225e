// users.js: the admins' page of users: list, add, change roles, name,
// e-mail, active, password, and delete.
import {api, errorText, withQuery} from "./api.js";
import {$, badge, confirmButton, el, say, showFieldErrors, timeEl}
    from "./dom.js";
import {initNav} from "./nav.js";

const LIMIT = 50;
const form = $("#user");
const field = (name) => form.elements.namedItem(name);
let offset = 0;
let editing = null;	// the user being changed, or null to add one

function roles() {
	return [...form.querySelectorAll("input[name=role]:checked")]
	    .map((c) => c.value);
}

function edit(u) {
	editing = u;
	$("#form-title").textContent = "Change " + u.email;
	field("email").value = u.email;
	field("name").value = u.name || "";
	field("password").value = "";
	field("is_active").checked = u.is_active;
	for (const c of form.querySelectorAll("input[name=role]"))
		c.checked = u.roles.includes(c.value);
	$("#save").textContent = "Save";
	$("#cancel").hidden = false;
	$("#pw-hint").hidden = false;
	showFieldErrors(form, {});
	field("email").focus();
}

function reset() {
	editing = null;
	form.reset();
	$("#form-title").textContent = "Add a user";
	$("#save").textContent = "Add user";
	$("#cancel").hidden = true;
	$("#pw-hint").hidden = true;
	showFieldErrors(form, {});
}

async function remove(u) {
	try {
		await api("DELETE", "/api/users/" + u.id);
		say($("#msg"), "Deleted " + u.email + ".", "ok");
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

function row(u) {
	return el("tr", {},
	    el("td", {}, u.email),
	    el("td", {}, u.name || ""),
	    el("td", {}, u.roles.join(", ")),
	    el("td", {}, u.is_active ? badge("active", "on") :
	    badge("disabled", "off")),
	    el("td", {}, timeEl(u.created_at)),
	    el("td", {class: "inline"},
	    el("button", {type: "button", class: "small",
	    onclick: () => edit(u)}, "Change"),
	    confirmButton("Delete", () => remove(u))));
}

async function load() {
	const l = await api("GET", withQuery("/api/users", {limit: LIMIT,
	    offset}));
	$("#users tbody").replaceChildren(...l.items.map(row));
	$("#count").textContent = l.items.length ? "users " + (offset + 1) +
	    "\u2013" + (offset + l.items.length) : "";
	$("#prev").disabled = offset === 0;
	$("#next").disabled = l.next_offset === null;
}

// A change is a PATCH, then the password when one was typed.
async function submit(ev) {
	ev.preventDefault();
	const b = {email: field("email").value.trim(),
	    name: field("name").value.trim() || null, roles: roles(),
	    is_active: field("is_active").checked};
	const pw = field("password").value;
	try {
		if (editing) {
			await api("PATCH", "/api/users/" + editing.id, b);
			if (pw)
				await api("POST", "/api/users/" + editing.id +
				    "/password", {new_password: pw});
		} else {
			await api("POST", "/api/users", {...b, password: pw});
		}
		say($("#msg"), (editing ? "Saved " : "Added ") + b.email + ".",
		    "ok");
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
	$("#prev").addEventListener("click", () => {
		offset = Math.max(0, offset - LIMIT);
		load().catch((e) => say($("#msg"), errorText(e)));
	});
	$("#next").addEventListener("click", () => {
		offset += LIMIT;
		load().catch((e) => say($("#msg"), errorText(e)));
	});
	try {
		await load();
	} catch (e) {
		say($("#msg"), errorText(e));
	}
}

main();
