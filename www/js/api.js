// api.js: the console's only door to the API.  JSON in and out; every
// state-changing request is application/json with the session cookie
// (CONTRACT section 5's CSRF rule); every failure becomes an ApiError
// carrying the API's {error, message, fields}.

// A session may exist: set at login, cleared at logout and on any 401.
// The sid cookie itself is HttpOnly; this only spares anonymous visitors
// a /api/users/me that would answer 401.
const SESSION_KEY = "pgsched.session";

export function sessionHint() {
	return localStorage.getItem(SESSION_KEY) === "1";
}

export function setSessionHint(on) {
	if (on)
		localStorage.setItem(SESSION_KEY, "1");
	else
		localStorage.removeItem(SESSION_KEY);
}

export class ApiError extends Error {
	constructor(status, body) {
		super(body.message);
		this.status = status;
		this.code = body.error;
		this.fields = body.fields || {};
	}
}

// Numbers whose text would change in a JS double (bigint, numeric, long
// decimals) are kept as their source text: JSON.rawJSON values, which
// JSON.stringify writes back verbatim.  Browsers without JSON.parse source
// text access (Chromium before 114, for instance) get plain numbers.
function exactReviver(key, value, ctx) {
	if (typeof value === "number" && ctx && ctx.source !== undefined &&
	    String(value) !== ctx.source && typeof JSON.rawJSON === "function")
		return JSON.rawJSON(ctx.source);
	return value;
}

function failure(r, text) {
	try {
		const b = JSON.parse(text);
		if (b && typeof b.message === "string")
			return new ApiError(r.status, b);
	} catch (e) {
		// not JSON: nginx's own page, a proxy's
	}
	return new ApiError(r.status, {error: "http_" + r.status,
	    message: "the server answered " + r.status + " " + r.statusText});
}

// Calls the API; resolves to the parsed body, rejects with an ApiError.
// opts.exact keeps result values exact (see exactReviver).
export async function api(method, path, body, opts = {}) {
	// GETs revalidate (runs carry ETags): never a stale run or list.
	const init = {method, credentials: "same-origin", cache: "no-cache",
	    headers: {Accept: "application/json"}};
	if (method !== "GET") {
		init.headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(body === undefined ? {} : body);
	}
	let r;
	try {
		r = await fetch(path, init);
	} catch (e) {
		throw new ApiError(0, {error: "network",
		    message: "the server cannot be reached"});
	}
	const text = await r.text();
	if (!r.ok) {
		if (r.status === 401)
			setSessionHint(false);
		throw failure(r, text);
	}
	return text === "" ? null :
	    JSON.parse(text, opts.exact ? exactReviver : undefined);
}

// Builds "path?k=v&..." from the defined values of params.
export function withQuery(path, params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== "")
			q.set(k, String(v));
	const s = q.toString();
	return s ? path + "?" + s : path;
}

// The words shown for an error: the API's message, the status, and the
// field messages not shown beside a field already.
export function errorText(e, shown = []) {
	if (!(e instanceof ApiError))
		return "unexpected error: " + String(e && e.message || e);
	const parts = [e.message];
	for (const [f, m] of Object.entries(e.fields))
		if (!shown.includes(f))
			parts.push(f + ": " + m);
	return parts.join("; ") + (e.status ? " (HTTP " + e.status + ")" : "");
}
