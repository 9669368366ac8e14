/*
 * serve: the agent's HTTP server (libmicrohttpd), DESIGN §9.
 *
 *   GET|HEAD /content?token=T   the file the token names, with Range,
 *                               If-Range, ETag and Last-Modified
 *   GET|HEAD /healthz           {"status":"ok","tunnelConfigured":bool}
 *   OPTIONS  (with --cors-origin) the CORS preflight for that origin
 *
 * Errors are JSON: {"error":{"code":"UNAUTHORIZED","message":"bad
 * signature"}}, always with Cache-Control: no-store. Connections and
 * downloads are limited in total and per client (lim.h).
 */
#ifndef AGENT_SERVE_H
#define AGENT_SERVE_H

#include <sys/stat.h>

#include "conf.h"
#include "err.h"

struct server;

/*
 * Start serving c on listen ("127.0.0.1:8443", "[::1]:8443"; numeric
 * addresses only) with threads worker threads. no_symlinks: refuse every
 * symlink below the roots, even one that stays inside. c must outlive
 * the server. NULL with err on failure.
 */
struct server	*serve_start(const struct conf *c, const char *listen,
		    const char *cors_origin, int no_symlinks, unsigned threads,
		    char *err, size_t errlen);
/*
 * Housekeeping from the main thread, about once a second: reopen an
 * allowed root whose path now names another directory (see struct root
 * in serve.c). serve_start calls it once.
 */
void		 serve_tick(struct server *s);
/* Stop and free; NULL is fine. */
void		 serve_stop(struct server *s);

/*
 * Open path (absolute, normalized, already inside root) beneath root
 * (rootfd, an O_PATH descriptor of it, or -1 to open it here):
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), or, where the kernel
 * has no openat2 or no_symlinks is set, a walk that refuses every
 * symlink. The path is opened O_PATH first and opened for reading only
 * once it is known to be a regular file, so a FIFO or a device is never
 * opened for reading: any other reader of agent files (the relay, when
 * it comes) should open through here. Returns an fd of a regular file
 * opened for reading, or -1 with errno: EXDEV or ELOOP for an escape
 * (ELOOP also for a symlink refused by no_symlinks), ENOENT, ENOTDIR,
 * EACCES, EISDIR/ENODEV for a directory or another non-regular file,
 * EAGAIN when the name changed between the two opens. The file's stat
 * goes to *st when not NULL. A path that is not under root, or has "//"
 * right after it, is EXDEV; so is any empty, "." or ".." component in the
 * walk, while openat2 resolves those that stay inside root (the caller
 * refuses paths that are not normalized before).
 */
int		 serve_open_beneath(const char *root, int rootfd,
		    const char *path, int no_symlinks, struct stat *st);

/*
 * Open path beneath the allowed roots that hold it, as /content does
 * (every such root is tried; symlinks as the server was started): a
 * descriptor opened for reading of a regular file, or with want_dir of a
 * directory (the root itself too), and *st; or -1 with the error and the
 * message a client sees ("path not allowed" for an escape).
 */
int		 serve_open(struct server *s, const char *path, int want_dir,
		    struct stat *st, enum fs_err *e, const char **msg);
int		 serve_no_symlinks(const struct server *s);
/* The strong ETag and Last-Modified of a file, as /content sends them. */
#define SERVE_ETAG_MAX	80
void		 serve_validators(const struct stat *st,
		    char etag[SERVE_ETAG_MAX], char lastmod[30]);
/* /healthz reports "relay": fn(arg), called from the server's threads. */
void		 serve_relay_state(struct server *s,
		    const char *(*fn)(void *), void *arg);

#endif
