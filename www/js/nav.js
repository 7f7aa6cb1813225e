// nav.js: the header of every page (links by role, who is logged in,
// log out) and the role check of a page.  Roles are the API's: a link
// shows only where the API would allow what the page does.
import {api, ApiError, errorText, sessionHint, setSessionHint} from "./api.js";
import {el, $} from "./dom.js";

export const RANK = {viewer: 1, editor: 2, admin: 3};

// The pages, in menu order, with the least role that may use them.  A new
// page is one line here.
const LINKS = [
	{href: "/", label: "Queries", role: null},
	{href: "/editor.html", label: "New query", role: "editor"},
	{href: "/admin/tokens.html", label: "API tokens", role: "editor"},
	{href: "/admin/users.html", label: "Users", role: "admin"},
	{href: "/admin/sources.html", label: "Data sources", role: "admin"},
	{href: "/admin/channels.html", label: "Channels", role: "admin"},
];

export function rankOf(roles) {
	return Math.max(0, ...(roles || []).map((r) => RANK[r] || 0));
}

export function loginUrl() {
	return "/login.html?next=" +
	    encodeURIComponent(location.pathname + location.search);
}

async function logout() {
	try {
		await api("POST", "/api/auth/logout", {});
	} finally {
		setSessionHint(false);
		location.assign("/login.html");
	}
}

function render(me, rank) {
	const nav = $("#nav");
	const here = location.pathname.replace(/\/index\.html$/, "/");
	nav.replaceChildren(...LINKS
	    .filter((l) => !l.role || rank >= RANK[l.role])
	    .map((l) => el("a", {href: l.href,
	    class: l.href === here ? "here" : null}, l.label)));
	const who = $("#who");
	if (me)
		who.replaceChildren(
		    el("span", {title: me.roles.join(", ")}, me.user.email),
		    el("button", {type: "button", class: "small",
		    onclick: logout}, "Log out"));
	else
		who.replaceChildren(el("a", {href: loginUrl()}, "Log in"));
}

// Fills the header.  need: the least role of the page ("viewer" for any
// logged-in user); without it the page is told in words what is missing
// (or sent to the log-in page) and initNav resolves to null.  Otherwise
// it resolves to {me, rank}; me is null for an anonymous visitor.
export async function initNav(need = null) {
	let me = null;
	if (sessionHint()) {
		try {
			me = await api("GET", "/api/users/me");
		} catch (e) {
			if (!(e instanceof ApiError) || e.status !== 401) {
				render(null, 0);
				refuse(errorText(e));
				return null;
			}
		}
	}
	const rank = me ? rankOf(me.roles) : 0;
	render(me, rank);
	if (need && rank < RANK[need]) {
		if (!me)
			location.replace(loginUrl());
		else
			refuse("This page needs the " + need + " role; you " +
			    "are " + me.roles.join(", ") + ".");
		return null;
	}
	return {me, rank};
}

// Replaces the page's content with a message.
export function refuse(text) {
	$("main").replaceChildren(el("p", {class: "msg error", role: "alert"},
	    text));
}

// Sends an anonymous visitor who met a 401 to the log-in page; true when
// it did.
export function toLogin(e) {
	if (e instanceof ApiError && e.status === 401) {
		location.replace(loginUrl());
		return true;
	}
	return false;
}
