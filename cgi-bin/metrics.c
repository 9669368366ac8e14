/*
 * metrics: GET /api/metrics, the counters of every program in the
 * Prometheus text format 0.0.4 (common/metrics.h; docs/operations.md,
 * "Metrics"). From loopback without a key, else with an admin's
 * (APP_LOCAL, METRICS_LOOPBACK).
 */
#include "app.h"
#include "db.h"
#include "metrics.h"

#define METRICS_OUT_MAX	(1024 * 1024)	/* bytes of one answer */

static void
h_metrics(struct app *a, struct request *r, const struct app_caller *c)
{
	struct dynbuf out;
	long long total, online;
	enum fs_err e;

	dynbuf_init(&out, METRICS_OUT_MAX);
	if (r->nparams > 0) {
		http_error(r, FS_VALIDATION, "unknown parameter \"%.64s\"",
		    r->params[0].name);
		goto out;
	}
	if (!metrics_on()) {
		http_error(r, FS_NOT_FOUND, "metrics are off (METRICS=0, or "
		    "METRICS_FILE could not be mapped: see the error log)");
		goto out;
	}
	if (agent_count(a->db, &total, &online) == -1) {
		app_db_error(a, r, "metrics");
		goto out;
	}
	e = metrics_render(&out);
	if (e == FS_OK)
		e = metrics_gauge(&out, "filestor_agents", "Enrolled agents.",
		    (double)total);
	if (e == FS_OK)
		e = metrics_gauge(&out, "filestor_agents_online", "Agents "
		    "whose last heartbeat is at most 180 s old.",
		    (double)online);
	if (e != FS_OK) {
		app_log(a, "metrics: cannot render (%s)", err_code(e));
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	http_status(r, 200);
	http_add_header(r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_add_header(r, "Cache-Control", "no-store");
	http_add_headerf(r, "Content-Length", "%zu", dynbuf_len(&out));
	http_write(r, dynbuf_ptr(&out), dynbuf_len(&out));
out:
	dynbuf_free(&out);
}

APP_MAIN("metrics", APP_READONLY,
    [ROUTE_METRICS] = h_metrics)
