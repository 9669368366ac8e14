/*
 * routes: every route of the API, in one table that every program sees
 * (as cgit's command table carries want_repo). app_dispatch() reads it:
 * it picks the route, answers 404 and 405 (Allow comes from the table,
 * so no program keeps a copy of its siblings' methods), and checks the
 * auth column before the handler runs. A program only binds handlers to
 * the routes it serves (app.h).
 *
 * One line per route: id, method, path pattern, auth, program.
 *   pattern  bytes of the decoded path; "*" matches one segment (no '/',
 *            maybe empty), "**" any rest (with '/'). A pattern without
 *            wildcards that equals the path shadows those with wildcards
 *            (GET /api/agents/enroll is 405, not "show agent enroll").
 *            The handler still validates what a wildcard matched. The
 *            first line that matches the path and the method serves.
 *   auth     enum app_auth (app.h).
 *   program  the FastCGI program the web server sends the route to;
 *            lighttpd.conf and apache/filestor.conf route exactly these
 *            (tests/t14-routes.sh checks both). GET on a storage key also
 *            goes to "transform" when the query asks for one.
 * Allow lists the methods in this order, with HEAD after GET: keep the
 * order of the lines.
 */
#ifndef FS_ROUTES_H
#define FS_ROUTES_H

#define APP_ROUTES(R) \
	R(LOGIN,	"POST",	  "/api/auth/login",	     APP_PUBLIC, "auth") \
	R(LOGOUT,	"POST",	  "/api/auth/logout",	     APP_PUBLIC, "auth") \
	R(ME,		"GET",	  "/api/auth/me",	     APP_USER,	 "auth") \
	R(KEYS,		"GET",	  "/api/auth/keys",	     APP_USER,	 "auth") \
	R(KEY_NEW,	"POST",	  "/api/auth/keys",	     APP_USER,	 "auth") \
	R(KEY_DELETE,	"DELETE", "/api/auth/keys/*",	     APP_USER,	 "auth") \
	R(LIST,		"GET",	  "/api/storage",	     APP_USER,	 "list") \
	R(GET,		"GET",	  "/api/storage/**",	     APP_TOKEN,	 "get") \
	R(PUT,		"PUT",	  "/api/storage/**",	     APP_USER,	 "put") \
	R(PATCH,	"PATCH",  "/api/storage/**",	     APP_USER,	 "patch") \
	R(DELETE,	"DELETE", "/api/storage/**",	     APP_USER,	 "delete") \
	R(SIGN,		"POST",	  "/api/storage/**/sign",    APP_USER,	 "sign") \
	R(FOLDERS,	"GET",	  "/api/folders",	     APP_USER,	 "folders") \
	R(FOLDER_NEW,	"POST",	  "/api/folders",	     APP_USER,	 "folders") \
	R(FOLDER_RENAME, "PATCH", "/api/folders/*",	     APP_USER,	 "folders") \
	R(FOLDER_DELETE, "DELETE", "/api/folders/*",	     APP_USER,	 "folders") \
	R(AGENTS,	"GET",	  "/api/agents",	     APP_ADMIN,	 "agents") \
	R(ENROLL,	"POST",	  "/api/agents/enroll",	     APP_PUBLIC, "agents") \
	R(ENROLL_TOKEN,	"POST",	  "/api/agents/enroll-tokens", APP_ADMIN, "agents") \
	R(HEARTBEAT,	"POST",	  "/api/agents/heartbeat",   APP_AGENT,	 "agents") \
	R(AGENT,	"GET",	  "/api/agents/*",	     APP_ADMIN,	 "agents") \
	R(AGENT_DELETE,	"DELETE", "/api/agents/*",	     APP_ADMIN,	 "agents") \
	R(TUNNEL,	"POST",	  "/api/agents/*/tunnel",    APP_ADMIN,	 "agents") \
	R(TUNNEL_OFF,	"DELETE", "/api/agents/*/tunnel",    APP_ADMIN,	 "agents") \
	R(TUNNEL_ROTATE, "POST",  "/api/agents/*/tunnel/rotate", APP_ADMIN, "agents") \
	R(AGENT_FILES,	"GET",	  "/api/agents/*/files",     APP_USER,	 "agents") \
	R(FILE_CONTENT,	"GET",	  "/api/file/content",	     APP_USER,	 "file-content") \
	R(METRICS,	"GET",	  "/api/metrics",	     APP_LOCAL,	 "metrics") \
	R(UPLOAD_OPTIONS, "OPTIONS", "/api/uploads",	     APP_PUBLIC, "uploads") \
	R(UPLOAD_NEW,	"POST",	  "/api/uploads",	     APP_USER,	 "uploads") \
	R(UPLOAD_HEAD,	"HEAD",	  "/api/uploads/*",	     APP_USER,	 "uploads") \
	R(UPLOAD_PATCH,	"PATCH",  "/api/uploads/*",	     APP_USER,	 "uploads") \
	R(UPLOAD_DELETE, "DELETE", "/api/uploads/*",	     APP_USER,	 "uploads") \
	/* S3 (docs/s3api.md): SigV4, which the program checks itself. */ \
	R(S3_SERVICE,	"GET",	  "/s3",		     APP_PUBLIC, "s3") \
	R(S3_BUCKET,	"GET",	  "/s3/*",		     APP_PUBLIC, "s3") \
	R(S3_BUCKET_PUT, "PUT",	  "/s3/*",		     APP_PUBLIC, "s3") \
	R(S3_BUCKET_DELETE, "DELETE", "/s3/*",		     APP_PUBLIC, "s3") \
	R(S3_BUCKET_POST, "POST", "/s3/*",		     APP_PUBLIC, "s3") \
	R(S3_OBJECT,	"GET",	  "/s3/*/**",		     APP_PUBLIC, "s3") \
	R(S3_OBJECT_PUT, "PUT",	  "/s3/*/**",		     APP_PUBLIC, "s3") \
	R(S3_OBJECT_DELETE, "DELETE", "/s3/*/**",	     APP_PUBLIC, "s3") \
	R(S3_OBJECT_POST, "POST", "/s3/*/**",		     APP_PUBLIC, "s3")

enum route {
#define ROUTE_ID(id, method, pattern, auth, prog)	ROUTE_##id,
	APP_ROUTES(ROUTE_ID)
#undef ROUTE_ID
	ROUTE__MAX
};

#endif
