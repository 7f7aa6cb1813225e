// login.js: the log-in page.  A session cookie comes back from the API;
// then the page the visitor came from (a path of this site only) opens.
import {api, errorText, setSessionHint} from "./api.js";
import {$, param, say} from "./dom.js";

// Only a local path: never another site ("//host", "/\host").
function nextPage() {
	const n = param("next");
	return n && /^\/(?![/\\])/.test(n) ? n : "/";
}

async function submit(ev) {
	ev.preventDefault();
	const f = ev.target;
	const button = $("button", f);
	button.disabled = true;
	say($("#msg"), "");
	try {
		await api("POST", "/api/auth/login", {
			email: f.email.value.trim(),
			password: f.password.value,
		});
		setSessionHint(true);
		location.replace(nextPage());
	} catch (e) {
		say($("#msg"), errorText(e));
		f.password.value = "";
		f.password.focus();
	} finally {
		button.disabled = false;
	}
}

$("#login").addEventListener("submit", submit);
$("#login").email.focus();
