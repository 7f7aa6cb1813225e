/*
 * routes.c: the route table of the API (routes.h), and nothing else: the
 * router and the metrics both read it, and it calls neither.
 */
#include "api.h"

#define B  ROUTE_BODY
#define BO ROUTE_BODY_OPT
#define ND ROUTE_NODB
#define ET ROUTE_ETAG

static const struct route routes[] = {
	{ "POST", "/api/auth/login", h_login, ACC_PUBLIC, B },
	{ "POST", "/api/auth/logout", h_logout, ACC_PUBLIC, BO },
	{ "GET", "/api/users/me", h_me, ACC_AUTH, 0 },
	{ "GET", "/api/users", h_user_list, ACC_ADMIN, 0 },
	{ "POST", "/api/users", h_user_create, ACC_ADMIN, B },
	{ "GET", "/api/users/{uid}", h_user_get, ACC_AUTH, 0 },
	{ "PATCH", "/api/users/{uid}", h_user_patch, ACC_AUTH, B },
	{ "DELETE", "/api/users/{uid}", h_user_delete, ACC_ADMIN, 0 },
	{ "POST", "/api/users/{uid}/password", h_user_password, ACC_AUTH, B },
	{ "GET", "/api/datasources", h_source_list, ACC_ADMIN, 0 },
	{ "POST", "/api/datasources", h_source_create, ACC_ADMIN, B },
	{ "GET", "/api/datasources/names", h_source_names, ACC_EDITOR, 0 },
	{ "GET", "/api/datasources/{id}", h_source_get, ACC_ADMIN, 0 },
	{ "PATCH", "/api/datasources/{id}", h_source_patch, ACC_ADMIN, B },
	{ "DELETE", "/api/datasources/{id}", h_source_delete, ACC_ADMIN, 0 },
	{ "POST", "/api/datasources/{id}/test", h_source_test, ACC_ADMIN, BO },
	{ "GET", "/api/admin/queries", h_query_list, ACC_EDITOR, 0 },
	{ "POST", "/api/admin/queries", h_query_create, ACC_EDITOR, B },
	{ "POST", "/api/admin/queries/test", h_dryrun_unsaved, ACC_EDITOR, B },
	{ "GET", "/api/admin/queries/{qid}", h_query_get, ACC_EDITOR, 0 },
	{ "PATCH", "/api/admin/queries/{qid}", h_query_patch, ACC_EDITOR, B },
	{ "DELETE", "/api/admin/queries/{qid}", h_query_delete, ACC_EDITOR, 0 },
	{ "POST", "/api/admin/queries/{qid}/test", h_dryrun_saved, ACC_EDITOR,
	    BO },
	{ "POST", "/api/admin/queries/{qid}/enable", h_query_enable, ACC_EDITOR,
	    BO },
	{ "POST", "/api/admin/queries/{qid}/disable", h_query_disable,
	    ACC_EDITOR, BO },
	{ "POST", "/api/admin/queries/{qid}/run", h_run_now, ACC_EDITOR, BO },
	{ "GET", "/api/admin/queries/{qid}/notifications", h_notify_subs_get,
	    ACC_EDITOR, 0 },
	{ "PUT", "/api/admin/queries/{qid}/notifications", h_notify_subs_put,
	    ACC_EDITOR, B },
	{ "GET", "/api/admin/queries/{qid}/alert", h_notify_alert_get,
	    ACC_EDITOR, 0 },
	{ "PUT", "/api/admin/queries/{qid}/alert", h_notify_alert_put,
	    ACC_EDITOR, B },
	{ "DELETE", "/api/admin/queries/{qid}/alert", h_notify_alert_delete,
	    ACC_EDITOR, 0 },
	{ "GET", "/api/admin/channels", h_channel_list, ACC_ADMIN, 0 },
	{ "POST", "/api/admin/channels", h_channel_create, ACC_ADMIN, B },
	{ "GET", "/api/admin/channels/{id}", h_channel_get, ACC_ADMIN, 0 },
	{ "PATCH", "/api/admin/channels/{id}", h_channel_patch, ACC_ADMIN, B },
	{ "DELETE", "/api/admin/channels/{id}", h_channel_delete, ACC_ADMIN,
	    0 },
	{ "POST", "/api/admin/channels/{id}/rotate-secret", h_channel_rotate,
	    ACC_ADMIN, BO },
	{ "POST", "/api/admin/channels/{id}/test", h_channel_test, ACC_ADMIN,
	    BO },
	{ "GET", "/api/admin/deliveries", h_notify_delivery_list, ACC_EDITOR,
	    0 },
	{ "POST", "/api/admin/deliveries/{id}/redeliver", h_notify_redeliver,
	    ACC_EDITOR, BO },
	{ "POST", "/api/admin/schedule/preview", h_schedule_preview, ACC_EDITOR,
	    B },
	{ "GET", "/api/admin/queries/{qid}/grants", h_query_grants_get,
	    ACC_EDITOR, 0 },
	{ "PUT", "/api/admin/queries/{qid}/grants", h_query_grants_put,
	    ACC_EDITOR, B },
	{ "GET", "/api/tokens", h_token_list, ACC_EDITOR, 0 },
	{ "POST", "/api/tokens", h_token_create, ACC_EDITOR, B },
	{ "DELETE", "/api/tokens/{id}", h_token_revoke, ACC_EDITOR, BO },
	{ "GET", "/api/queries", h_query_catalogue, ACC_RUNS, 0 },
	{ "GET", "/api/queries/{qid}", h_query_public, ACC_RUNS, 0 },
	{ "GET", "/api/queries/{qid}/runs", h_run_list, ACC_RUNS, ET },
	{ "GET", "/api/queries/{qid}/runs/latest", h_run_latest, ACC_RUNS, ET },
	{ "GET", "/api/queries/{qid}/runs/{run_id}/prev", h_run_prev, ACC_RUNS,
	    0 },
	{ "GET", "/api/queries/{qid}/runs/{run_id}/next", h_run_next, ACC_RUNS,
	    0 },
	{ "GET", "/api/runs/{run_id}", h_run_get, ACC_RUNS, ET },
	{ "GET", "/healthz", h_healthz, ACC_PUBLIC, ND },
	{ "GET", "/metrics", h_metrics, ACC_PUBLIC, ND },
	{ "GET", "/api/openapi.json", h_openapi, ACC_PUBLIC, ND },
};

#define NROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

const struct route *
route_table(int *n)
{
	*n = NROUTES;
	return routes;
}
