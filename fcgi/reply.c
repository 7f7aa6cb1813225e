/*
 * reply.c: writing responses.  The only place that maps an enum pgs_rc to
 * an HTTP status and an error body (CONTRACT section 5).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fastcgi.h>
#include <sodium.h>

#include "api.h"
#include "log.h"

static const char *
reply_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

void
reply_header(struct req *r, const char *fmt, ...)
{
	va_list ap;
	char	line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Header values we write never hold CR or LF; make sure. */
	line[strcspn(line, "\r\n")] = '\0';
	buf_puts(&r->hdrs, line);
	buf_puts(&r->hdrs, "\r\n");
}

/* Returns true when the If-None-Match header names tag (or is "*"). */
static bool
reply_etag_matches(struct req *r, const char *tag)
{
	const char *inm = req_env(r, "HTTP_IF_NONE_MATCH");

	if (inm == NULL)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	/* A list of tags, possibly weak ("W/"); compare the opaque part. */
	return strstr(inm, tag) != NULL;
}

void
reply_etag_of_parts(const char *prefix, const char *body, size_t len,
    char tag[CACHE_ETAG_MAX])
{
	crypto_generichash_state st;
	unsigned char		 h[16];
	size_t			 i;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)prefix,
	    strlen(prefix));
	crypto_generichash_update(&st, (const unsigned char *)body, len);
	crypto_generichash_final(&st, h, sizeof(h));
	tag[0] = '"';
	for (i = 0; i < sizeof(h); i++)
		snprintf(tag + 1 + 2 * i, 3, "%02x", h[i]);
	tag[1 + 2 * sizeof(h)] = '"';
	tag[2 + 2 * sizeof(h)] = '\0';
}

void
reply_etag_of(const char *body, size_t len, char tag[CACHE_ETAG_MAX])
{
	reply_etag_of_parts("", body, len, tag);
}

#define REPLY_REC_MAX 65528 /* FastCGI record content, 8-aligned */
#define REPLY_IOV     64

/* Writes the n iovecs in full (they may be consumed); false on error. */
static bool
reply_writev(int fd, struct iovec *iov, int n)
{
	ssize_t w;

	while (n > 0) {
		w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return false;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return true;
}

static void
reply_rec_header(FCGI_Header *h, int type, int id, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->version = FCGI_VERSION_1;
	h->type = (unsigned char)type;
	h->requestIdB1 = (unsigned char)((id >> 8) & 0xff);
	h->requestIdB0 = (unsigned char)(id & 0xff);
	h->contentLengthB1 = (unsigned char)((len >> 8) & 0xff);
	h->contentLengthB0 = (unsigned char)(len & 0xff);
}

/*
 * Writes the whole answer (head, then len bytes of body) as FastCGI
 * records with as few writev calls as possible, then the end of the
 * stream and FCGI_END_REQUEST, and closes libfcgi's output stream so
 * that FCGX_Finish_r adds nothing.  libfcgi's own stream would cut the
 * answer into 8 KiB records, one write(2) each, and nginx reads each.
 */
static void
reply_records(struct req *r, const char *head, size_t hlen, const char *body,
    size_t len)
{
	FCGI_Header	      hdr[REPLY_IOV / 2 + 1];
	FCGI_EndRequestRecord end;
	struct iovec	      iov[REPLY_IOV + 2];
	const char	     *p[2] = { head, body };
	size_t		      left[2] = { hlen, len }, take, room;
	int		      id = r->fr->requestId, fd = r->fr->ipcFd;
	int		      n = 0, k = 0, part = 0;
	bool		      ok = true;

	while (ok && (left[0] + left[1] > 0 || k >= 0)) {
		if (left[0] + left[1] == 0) {
			/* The empty record ending stdout, and the end. */
			reply_rec_header(&hdr[n / 2], FCGI_STDOUT, id, 0);
			iov[n].iov_base = &hdr[n / 2];
			iov[n++].iov_len = sizeof(FCGI_Header);
			memset(&end, 0, sizeof(end));
			reply_rec_header(&end.header, FCGI_END_REQUEST, id,
			    sizeof(end.body));
			end.body.protocolStatus = FCGI_REQUEST_COMPLETE;
			iov[n].iov_base = &end;
			iov[n++].iov_len = sizeof(end);
			k = -1;
		} else {
			/* One record: what is left of head, then body. */
			room = REPLY_REC_MAX;
			reply_rec_header(&hdr[n / 2], FCGI_STDOUT, id, 0);
			iov[n].iov_base = &hdr[n / 2];
			iov[n].iov_len = sizeof(FCGI_Header);
			k = n++;
			while (room > 0 && part < 2) {
				take = left[part] < room ? left[part] : room;
				if (take > 0) {
					iov[n].iov_base = (void *)p[part];
					iov[n++].iov_len = take;
					p[part] += take;
					left[part] -= take;
					room -= take;
				}
				if (left[part] == 0)
					part++;
			}
			reply_rec_header(iov[k].iov_base, FCGI_STDOUT, id,
			    REPLY_REC_MAX - room);
		}
		if (n + 4 > REPLY_IOV || k < 0) {
			ok = reply_writev(fd, iov, n);
			n = 0;
		}
	}
	/* libfcgi must not write its own end records now. */
	r->fr->out->wasFCloseCalled = 1;
	r->fr->out->isClosed = 1;
}

/*
 * Builds the head of the reply (status line, type, length, headers) into
 * head, the caller's, and marks r replied; tag is the ETag of an ETag
 * route's 200, or NULL.  Returns the status sent: 304 when tag matches
 * If-None-Match.
 */
static int
reply_head(struct req *r, int status, const char *ctype, size_t len,
    const char *tag, struct buf *head)
{
	if (tag != NULL) {
		reply_header(r, "ETag: %s", tag);
		if (reply_etag_matches(r, tag))
			status = 304;
	}
	r->replied = true;
	r->status = status;
	buf_printf(head, "Status: %d %s\r\n", status, reply_reason(status));
	if (status != 204 && status != 304)
		buf_printf(head, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		    ctype, len);
	buf_printf(head,
	    "Cache-Control: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n",
	    tag != NULL ? "no-cache" : "no-store");
	if (r->hdrs.len > 0)
		buf_append(head, r->hdrs.data, r->hdrs.len);
	buf_puts(head, "\r\n");
	return status;
}

/* Writes the reply; tag is the ETag of an ETag route's 200, or NULL. */
static enum pgs_rc
reply_write(struct req *r, int status, const char *ctype, const char *body,
    size_t len, const char *tag)
{
	struct buf head = BUF_INIT;

	if (r->replied)
		return PGS_OK;
	status = reply_head(r, status, ctype, len, tag, &head);
	if (r->head || status == 304 || status == 204)
		len = 0;
	reply_records(r, head.data, head.len, body, len);
	buf_free(&head);
	return PGS_OK;
}

/* Writes the len bytes at p as FastCGI stdout records; false on error. */
static bool
reply_chunk(struct req *r, const char *p, size_t len)
{
	FCGI_Header  h;
	struct iovec iov[2];
	size_t	     take;

	while (len > 0) {
		take = len < REPLY_REC_MAX ? len : REPLY_REC_MAX;
		reply_rec_header(&h, FCGI_STDOUT, r->fr->requestId, take);
		iov[0].iov_base = &h;
		iov[0].iov_len = sizeof(h);
		iov[1].iov_base = (void *)p;
		iov[1].iov_len = take;
		if (!reply_writev(r->fr->ipcFd, iov, 2))
			return false;
		p += take;
		len -= take;
	}
	return true;
}

/* Sends len bytes read from fd (at its offset) as the body after the
 * head already written, one record per read; false on an error. */
static bool
reply_file_body(struct req *r, int fd, size_t len)
{
	char   *chunk = xmalloc(REPLY_REC_MAX);
	ssize_t n = 0;
	bool	ok = true;

	while (ok && len > 0) {
		n = read(fd, chunk, len < REPLY_REC_MAX ? len : REPLY_REC_MAX);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("reply_file",
			    "left=%zu error=\"%s\" the file "
			    "ended early",
			    len, n < 0 ? strerror(errno) : "EOF");
			ok = false;
			break;
		}
		ok = reply_chunk(r, chunk, (size_t)n);
		len -= (size_t)n;
	}
	free(chunk);
	return ok;
}

enum pgs_rc
reply_send_file(struct req *r, const char *ctype, int fd, size_t len,
    const char *tag)
{
	struct buf head = BUF_INIT;
	int	   status;

	if (r->replied)
		return PGS_OK;
	status = reply_head(r, 200, ctype, len, tag, &head);
	if (r->head || status != 200)
		reply_records(r, head.data, head.len, NULL, 0);
	else {
		/* On an error the body stays short of its Content-Length: the
		 * client sees a broken answer, never a whole-looking part. */
		if (reply_chunk(r, head.data, head.len))
			(void)reply_file_body(r, fd, len);
		reply_records(r, NULL, 0, NULL, 0);
	}
	buf_free(&head);
	return PGS_OK;
}

bool
reply_etag_fresh(struct req *r, const char *tag)
{
	return reply_etag_matches(r, tag);
}

enum pgs_rc
reply_send(struct req *r, int status, const char *ctype, const char *body,
    size_t len)
{
	char tag[CACHE_ETAG_MAX];
	bool etag;

	etag =
	    r->route != NULL && (r->route->flags & ROUTE_ETAG) && status == 200;
	if (etag && !r->replied)
		reply_etag_of(body, len, tag);
	return reply_write(r, status, ctype, body, len, etag ? tag : NULL);
}

enum pgs_rc
reply_send_tagged(struct req *r, const char *ctype, const char *body,
    size_t len, const char *tag)
{
	return reply_write(r, 200, ctype, body, len, tag);
}

enum pgs_rc
reply_json(struct req *r, int status, cJSON *root)
{
	char	   *text;
	enum pgs_rc rc;

	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	rc = reply_send(r, status, "application/json", text, strlen(text));
	cJSON_free(text);
	return rc;
}

enum pgs_rc
reply_status(struct req *r, int status, const char *code, const char *message)
{
	if (status == 503)
		reply_header(r, "Retry-After: 5");
	return reply_json(r, status,
	    json_error_body(code, message, json_errors_take(&r->errs)));
}

/* How each rc is answered; 5xx never carry a handler's message. */
static const struct {
	enum pgs_rc rc;
	int	    status;
	const char *code;
	const char *msg;
} reply_map[] = {
	{ PGS_NOTFOUND, 404, "not_found", "not found" },
	{ PGS_INVALID, 422, "invalid", "invalid values" },
	{ PGS_CONFLICT, 409, "conflict", "conflict" },
	{ PGS_DENIED, 403, "forbidden", "your role does not allow this" },
	{ PGS_TIMEOUT, 503, "unavailable",
	    "the database is unavailable, try again" },
	{ PGS_DB, 503, "unavailable",
	    "the database is unavailable, try again" },
};

void
reply_rc(struct req *r, enum pgs_rc rc)
{
	size_t i;

	if (rc == PGS_OK)
		return;
	for (i = 0; i < sizeof(reply_map) / sizeof(reply_map[0]); i++)
		if (reply_map[i].rc == rc)
			break;
	if (i == sizeof(reply_map) / sizeof(reply_map[0])) {
		/* Never internals: the log has them. */
		reply_status(r, 500, "internal", "internal error");
		return;
	}
	if (reply_map[i].status >= 500 || r->err_code == NULL)
		r->err_code = reply_map[i].code;
	if (reply_map[i].status >= 500 || r->err_msg == NULL)
		r->err_msg = reply_map[i].msg;
	reply_status(r, reply_map[i].status, r->err_code, r->err_msg);
}

void
reply_cookie(struct req *r, const char *token)
{
	const char *secure = r->https ? "; Secure" : "";

	if (token == NULL) {
		reply_header(r,
		    "Set-Cookie: sid=; Path=/; Max-Age=0; HttpOnly;"
		    " SameSite=Lax%s",
		    secure);
		return;
	}
	reply_header(r,
	    "Set-Cookie: sid=%s; Path=/; Max-Age=%ld; HttpOnly;"
	    " SameSite=Lax%s",
	    token, (long)r->app->conf.session_ttl_hours * 3600, secure);
}

/* Returns true when origin is listed by name in CORS_ALLOWED_ORIGINS. */
static bool
reply_origin_listed(struct req *r, const char *origin)
{
	return strcmp(origin, "*") != 0 &&
	    conf_list_has(r->app->conf.cors_allowed_origins, origin);
}

void
reply_cors(struct req *r, bool preflight)
{
	const char *list = r->app->conf.cors_allowed_origins;

	if (r->origin == NULL)
		return;
	reply_header(r, "Vary: Origin");
	if (reply_origin_listed(r, r->origin)) {
		/* Named origins may send credentials; never with "*". */
		reply_header(r, "Access-Control-Allow-Origin: %s", r->origin);
		reply_header(r, "Access-Control-Allow-Credentials: true");
	} else if (conf_list_has(list, "*"))
		reply_header(r, "Access-Control-Allow-Origin: *");
	else
		return;
	if (preflight) {
		reply_header(r,
		    "Access-Control-Allow-Methods: GET, HEAD, POST, PUT,"
		    " PATCH, DELETE, OPTIONS");
		reply_header(r,
		    "Access-Control-Allow-Headers: Content-Type,"
		    " If-None-Match");
		reply_header(r, "Access-Control-Max-Age: 600");
	} else
		reply_header(r,
		    "Access-Control-Expose-Headers: ETag,"
		    " Retry-After, Location");
}
