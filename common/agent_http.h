/*
 * agent_http: who may read an agent's files (DESIGN §9), for the
 * programs that serve them: file-content (downloads) and agents
 * (listings through the WS relay, docs/relay.md).
 */
#ifndef FS_AGENT_HTTP_H
#define FS_AGENT_HTTP_H

struct app;
struct request;
struct principal;
struct agent_row;

/*
 * The checks, in this order: 403 when p's role has no agent_files.read
 * at all (before any lookup, so that agent ids cannot be probed); 404
 * when agent id is not in p's tenant; 403 when the read condition
 * (fields agent_id, path) refuses the pair, or path is outside the
 * agent's allowed roots (path "" is the roots themselves: only the
 * condition applies). 1 with *row (caller frees with agent_row_free), or
 * 0 after answering.
 */
int	agent_read_allowed(struct app *a, struct request *r,
	    const struct principal *p, const char *id, const char *path,
	    struct agent_row *row);

#endif
