/*
 * filestorctl: the admin CLI. Reads FILESTOR_DB (default
 * ./.data/filestor.db). Results go to stdout alone, so that scripts can
 * capture them; errors go to stderr with a non-zero exit.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "auth.h"
#include "backup.h"
#include "cfg.h"
#include "cli.h"
#include "cry.h"
#include "s3key.h"
#include "db.h"
#include "dbcopy.h"
#include "files.h"
#include "http_parse.h"
#include "perm.h"
#include "rcache.h"
#include "sigv4.h"
#include "store.h"
#include "upload.h"

#define PW_MAX		1024

struct cmd;

struct ctl {
	struct cfg		 cfg;
	struct db			*db;
	const struct cmd	*cmd;	/* the command being run (cmds[]) */
};

typedef int	(*cmd_fn)(struct ctl *, struct cli_args *);

/*
 * One row of the dispatch table (cmds[] below): "noun verb", the
 * synopsis of its arguments, its options, its handler. The synopsis is
 * what --help, the usage errors and the docs show (tests/t12-install.sh
 * checks every filestorctl form in the docs against --help).
 */
struct cmd {
	const char		*noun;
	const char		*verb;		/* NULL: a one-word command */
	const char		*args;		/* "" when it takes none */
	const char *const	*vals;
	const char *const	*flags;
	cmd_fn			 fn;
};

/* "noun verb ARGS" of one command, with a newline. */
static void
cmd_synopsis(FILE *f, const struct cmd *k)
{
	fprintf(f, "%s%s%s%s%s\n", k->noun, k->verb != NULL ? " " : "",
	    k->verb != NULL ? k->verb : "", *k->args != '\0' ? " " : "",
	    k->args);
}

/* Wrong positional arguments: the command's synopsis; returns 1. */
static int
usage_fail(const struct ctl *c)
{
	fprintf(stderr, "usage: filestorctl ");
	cmd_synopsis(stderr, c->cmd);
	return 1;
}

static int
need(const char *v, const char *name)
{
	if (v == NULL || *v == '\0') {
		cli_fail("%s is required", name);
		return 0;
	}
	return 1;
}

static int
need_uuid(const char *v, const char *name)
{
	if (!need(v, name))
		return 0;
	if (!cry_is_uuid(v)) {
		cli_fail("%s must be a UUID", name);
		return 0;
	}
	return 1;
}

static int
cmd_migrate(struct ctl *c, struct cli_args *ar)
{
	char err[512];
	int n;

	if (ar->npos != 0)
		return usage_fail(c);
	n = db_migrate(c->db, err, sizeof(err));
	if (n < 0)
		return cli_fail("%s", err);
	fprintf(stderr, "filestorctl: %d migration(s) applied\n", n);
	return 0;
}

static int
cmd_tenant_create(struct ctl *c, struct cli_args *ar)
{
	char id[37], err[512];

	if (ar->npos != 1)
		return usage_fail(c);
	if (auth_tenant_create(c->db, ar->pos[0], id, err, sizeof(err)) == -1)
		return cli_fail("%s", err);
	printf("%s\n", id);
	return 0;
}

/* Print a secret that is shown only once, then wipe and free it. */
static void
show_secret(char *secret)
{
	printf("%s\n", secret);
	cry_wipe_str(secret);
}

static void
print_tenant(void *arg, const char *id, const char *name)
{
	printf("%s\t%s\n", id, name);
}

static int
cmd_tenant_list(struct ctl *c, struct cli_args *ar)
{
	if (ar->npos != 0)
		return usage_fail(c);
	if (auth_tenant_each(c->db, print_tenant, NULL) == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	return 0;
}

/* Read a password from stdin (one line, newline stripped). */
static char *
read_password(void)
{
	char buf[PW_MAX + 2];
	size_t n;

	if (fgets(buf, sizeof(buf), stdin) == NULL)
		return NULL;
	n = strcspn(buf, "\r\n");
	if (n == strlen(buf) && !feof(stdin))
		return NULL;	/* longer than PW_MAX */
	buf[n] = '\0';
	if (n == 0)
		return NULL;
	return strdup(buf);
}

static int
cmd_user_create(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant"), *role = cli_opt(ar, "--role");
	char id[37], err[512], *pw = NULL;
	int ret;

	if (ar->npos != 1)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant") || !need(role, "--role"))
		return 1;
	if (cli_opt(ar, "--password-stdin") != NULL) {
		pw = read_password();
		if (pw == NULL)
			return cli_fail("--password-stdin: expected one line of 1 "
			    "to 1024 bytes on stdin");
	}
	ret = auth_user_create(c->db, ar->pos[0], tid, role, pw, id, err,
	    sizeof(err));
	if (pw != NULL) {
		cry_wipe(pw, strlen(pw));
		free(pw);
	}
	if (ret == -1)
		return cli_fail("%s", err);
	printf("%s\n", id);
	return 0;
}

static int
cmd_user_set_role(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant"), *role = cli_opt(ar, "--role");
	char err[512];

	if (ar->npos != 1)
		return usage_fail(c);
	if (!need_uuid(ar->pos[0], "USER_ID") || !need_uuid(tid, "--tenant") ||
	    !need(role, "--role"))
		return 1;
	if (auth_user_set_role(c->db, ar->pos[0], tid, role, err,
	    sizeof(err)) == -1)
		return cli_fail("%s", err);
	return 0;
}

/*
 * An S3 key (docs/s3api.md): "<access key id>\t<secret>" on stdout. The
 * secret is sealed under a key derived from AUTH_SECRET, as tunnel keys.
 */
static int
s3key_new(struct ctl *c, const char *tid, const char *uid, const char *name)
{
	unsigned char kek[AGENT_KEY_LEN];
	char id[S3KEY_ID_LEN + 1], *secret = NULL;
	int rc;

	agent_kek(c->cfg.auth_secret, c->cfg.auth_secret_len, kek);
	rc = s3key_create(c->db, kek, tid, uid, name, id, &secret);
	cry_wipe(kek, sizeof(kek));
	if (rc == 1)
		return cli_fail("user is not a member of tenant %s", tid);
	if (rc != 0)
		return cli_fail("database: %s", db_errmsg(c->db));
	printf("%s\t", id);
	show_secret(secret);
	fprintf(stderr, "filestorctl: S3 key created: access key id %s, then "
	    "its secret (on stdout), shown only once: store it now\n", id);
	return 0;
}

static int
cmd_apikey_create(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant"), *uid = cli_opt(ar, "--user");
	const char *name = cli_opt(ar, "--name");
	char id[37], *key = NULL;
	int rc;

	if (ar->npos != 0)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant") || !need_uuid(uid, "--user"))
		return 1;
	if (name != NULL && strlen(name) > 200)
		return cli_fail("--name is longer than 200 bytes");
	if (cli_opt(ar, "--s3") != NULL)
		return s3key_new(c, tid, uid, name);
	rc = auth_apikey_create(c->db, tid, uid, name, &key, id);
	if (rc == 1)
		return cli_fail("user is not a member of tenant %s", tid);
	if (rc != 0)
		return cli_fail("database: %s", db_errmsg(c->db));
	show_secret(key);
	fprintf(stderr, "filestorctl: API key created, id %s; the key (on "
	    "stdout) is shown only once: store it now\n", id);
	return 0;
}

static int
cmd_apikey_revoke(struct ctl *c, struct cli_args *ar)
{
	int rc;

	if (ar->npos != 1)
		return usage_fail(c);
	if (s3key_id_ok(ar->pos[0])) {
		rc = s3key_revoke(c->db, ar->pos[0]);
		if (rc == 1)
			return cli_fail("no live S3 key %s", ar->pos[0]);
		return rc == 0 ? 0 : cli_fail("database: %s",
		    db_errmsg(c->db));
	}
	if (!need_uuid(ar->pos[0], "KEY_ID"))
		return 1;
	rc = auth_apikey_revoke(c->db, ar->pos[0]);
	if (rc == 1)
		return cli_fail("no live API key %s", ar->pos[0]);
	if (rc != 0)
		return cli_fail("database: %s", db_errmsg(c->db));
	return 0;
}

static void
print_apikey(void *arg, const struct auth_apikey_row *k)
{
	char when[32];

	db_iso8601(k->created_at, when);
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", k->id, k->user_id, k->email,
	    k->name, when, k->revoked ? "revoked" : "active");
}

static int
cmd_apikey_list(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant");

	if (ar->npos != 0)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant"))
		return 1;
	printf("ID\tUSER\tEMAIL\tNAME\tCREATED\tSTATE\n");
	if (auth_apikey_each(c->db, tid, print_apikey, NULL) == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	return 0;
}

static int
cmd_role_create(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant");
	char id[37];
	enum fs_err e;
	size_t n;

	if (ar->npos != 1)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant"))
		return 1;
	n = strlen(ar->pos[0]);
	if (n == 0 || n > 63 || strspn(ar->pos[0], "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n)
		return cli_fail("role name must be 1 to 63 of [A-Za-z0-9_.-]");
	e = auth_role_create(c->db, tid, ar->pos[0], cli_opt(ar, "--admin") !=
	    NULL, id);
	if (e == FS_CONFLICT)
		return cli_fail("role %s exists in that tenant", ar->pos[0]);
	if (e == FS_NOT_FOUND)
		return cli_fail("no tenant %s", tid);
	if (e != FS_OK)
		return cli_fail("database: %s", db_errmsg(c->db));
	printf("%s\n", id);
	return 0;
}

/* Role id from a UUID, or from a name with --tenant. 0 or 1 (reported). */
static int
role_ref(struct ctl *c, const char *ref, const char *tid, char id[37])
{
	int rc;

	if (tid == NULL && cry_is_uuid(ref))
		rc = auth_role_find(c->db, NULL, ref, id);
	else if (tid == NULL || !cry_is_uuid(tid))
		return cli_fail("a role name needs --tenant TID (or give the role "
		    "id)");
	else
		rc = auth_role_find(c->db, tid, ref, id);
	if (rc == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	if (rc != 0)
		return cli_fail("no role %s", ref);
	return 0;
}

static int
cmd_permission_add(struct ctl *c, struct cli_args *ar)
{
	const char *cond = cli_opt(ar, "--condition");
	char role[37], err[512];
	long long id;
	int coll, act;

	if (ar->npos != 3)
		return usage_fail(c);
	coll = perm_coll_parse(ar->pos[1]);
	if (coll < 0)
		return cli_fail("COLLECTION must be system_files, system_folders "
		    "or agent_files, not \"%.64s\"", ar->pos[1]);
	act = perm_action_parse(ar->pos[2]);
	if (act < 0)
		return cli_fail("ACTION must be create, read, update or delete, "
		    "not \"%.64s\"", ar->pos[2]);
	if (cond != NULL && perm_validate(coll, cond, err, sizeof(err)) == -1)
		return cli_fail("--condition: %s", err);
	if (role_ref(c, ar->pos[0], cli_opt(ar, "--tenant"), role) != 0)
		return 1;
	id = perm_grant(c->db, role, coll, act, cond);
	if (id == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	printf("%lld\n", id);
	return 0;
}

static void
print_permission(void *arg, long long id, const char *coll, const char *act,
    const char *cond)
{
	printf("%lld\t%s\t%s\t%s\n", id, coll, act, cond);
}

static int
cmd_permission_list(struct ctl *c, struct cli_args *ar)
{
	char role[37];

	if (ar->npos != 1)
		return usage_fail(c);
	if (role_ref(c, ar->pos[0], cli_opt(ar, "--tenant"), role) != 0)
		return 1;
	if (perm_grants(c->db, role, print_permission, NULL) == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	return 0;
}

/*
 * debug list-plan: EXPLAIN QUERY PLAN of the exact statement the list
 * program runs for this user, so a test can show it is a range scan.
 */
static void
print_line(void *arg, const char *line)
{
	printf("%s\n", line);
}

static int
cmd_debug_list_plan(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant"), *uid = cli_opt(ar, "--user");
	const char *prefix = cli_opt(ar, "--prefix");
	struct perm_vars v;
	struct perm_sql cond;
	struct db_stmt *st = NULL;
	char role[37] = "";
	int ret = 1;

	if (ar->npos != 0)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant") || !need_uuid(uid, "--user"))
		return 1;
	if (auth_member_role(c->db, tid, uid, role) == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	if (role[0] == '\0')
		return cli_fail("user is not a member of tenant %s", tid);
	v.user_id = uid;
	v.tenant_id = tid;
	if (perm_lookup(c->db, role, PERM_FILES, PERM_READ, &v, &cond) != 1)
		return cli_fail("the user's role cannot read files%s", "");
	st = file_list_stmt(c->db, tid, prefix != NULL ? prefix : "", "",
	    &cond, FILES_LIST_DEFAULT);
	if (st == NULL || db_plan(c->db, st, print_line, NULL) == -1)
		cli_fail("database: %s", db_errmsg(c->db));
	else
		ret = 0;
	db_finalize(st);
	perm_sql_free(&cond);
	return ret;
}

/*
 * The store's part of gc: finish the publishes a crash interrupted, then
 * remove stale temporary objects (never one a row names) and objects no
 * row names (docs/decisions.md, "Publish and delete"). 0, or 1 said.
 */
static int
gc_store(struct ctl *c)
{
	struct store *s;
	long long pub, failed = 0, tmp, orphans;
	char err[512];

	s = store_open(&c->cfg, err, sizeof(err));
	if (s == NULL)
		return cli_fail("%s", err);
	pub = file_recover(c->db, s, &failed);
	tmp = pub >= 0 ? store_gc_tmp(s, 86400, file_pending_kept, c->db) : -1;
	orphans = tmp >= 0 ? file_gc_objects(c->db, s) : -1;
	store_close(s);
	if (pub < 0)
		return cli_fail("interrupted publishes: gc failed: %s",
		    db_errmsg(c->db));
	printf("uploads: interrupted publishes finished %lld, failed %lld\n",
	    pub, failed);
	if (tmp < 0)
		return cli_fail("upload temporary files: gc failed");
	printf("uploads: stale temporary files %lld\n", tmp);
	if (orphans < 0)
		return cli_fail("objects without a row: gc failed");
	printf("objects: without a row, removed %lld\n", orphans);
	if (failed > 0)
		return cli_fail("%lld interrupted publishes failed again; "
		    "see the worker log, and run gc again", failed);
	return 0;
}

/*
 * gc: evict the rendition cache down to RENDITION_CACHE_BYTES (least
 * recently used first, by mtime alone: nothing records a rendition's
 * source, so one of an overwritten or deleted source simply ages out),
 * remove stale temporary files of the cache, then do the store's part
 * (gc_store), remove expired resumable uploads (upload.h) and drop
 * expired login failure counts.
 */
static int
cmd_gc(struct ctl *c, struct cli_args *ar)
{
	struct rcache_stats st;
	struct store *s;
	long long up;
	char err[512];

	if (ar->npos != 0)
		return usage_fail(c);
	if (rcache_gc(c->cfg.cache_dir, c->cfg.transform.cache_bytes,
	    &st) == -1)
		return cli_fail("rendition cache gc failed in %s",
		    c->cfg.cache_dir);
	printf("renditions: kept %lld (%lld bytes), evicted %lld (%lld bytes), "
	    "stale temporary files %lld\n", st.files, st.bytes, st.evicted,
	    st.evicted_bytes, st.tmp_removed);
	if (gc_store(c) != 0)
		return 1;
	s = store_open(&c->cfg, err, sizeof(err));
	if (s == NULL)
		return cli_fail("%s", err);
	/* Aborts the multipart uploads of expired ones too (S3). */
	up = upload_gc(c->db, s, c->cfg.data_dir, db_now());
	store_close(s);
	if (up < 0)
		return cli_fail("resumable uploads: gc failed");
	printf("uploads: expired or abandoned resumable uploads %lld\n", up);
	up = auth_login_gc(c->db);
	if (up < 0)
		return cli_fail("login failure counts: gc failed: %s",
		    db_errmsg(c->db));
	printf("logins: expired failure counts %lld\n", up);
	return 0;
}

/*
 * backup DIR: the database copied with SQLite's online backup API, and
 * its manifest (backup.h). One line on stdout says what was written.
 */
static int
cmd_backup(struct ctl *c, struct cli_args *ar)
{
	struct backup_summary sum;
	char err[PATH_MAX + 256];

	if (ar->npos != 1)
		return usage_fail(c);
	if (backup_make(c->db, &c->cfg, ar->pos[0], &sum, err,
	    sizeof(err)) == -1)
		return cli_fail("backup: %s", err);
	printf("backup: %s/%s: %lld bytes, sha256 %s, schema %d, %lld files"
	    " rows; manifest %s/%s\n", ar->pos[0], BACKUP_DB_FILE, sum.bytes,
	    sum.sha256, sum.schema, sum.files, ar->pos[0], BACKUP_MANIFEST);
	return 0;
}

static void
print_problem(void *arg, const char *what, const char *pkey,
    const char *detail)
{
	(void)arg;
	printf("%s\t%s\t%s\n", what, pkey, detail);
}

/*
 * verify: every row's object is there with the row's size and sha256,
 * and every object has a row (backup.h). A line per problem, then the
 * counts; exit 1 when there is any problem.
 */
static int
cmd_verify(struct ctl *c, struct cli_args *ar)
{
	struct backup_report r;
	struct store *s;
	char err[512];
	long long bad;
	int rc;

	if (ar->npos != 0)
		return usage_fail(c);
	s = store_open(&c->cfg, err, sizeof(err));
	if (s == NULL)
		return cli_fail("%s", err);
	rc = backup_verify(c->db, s, print_problem, NULL, &r);
	store_close(s);
	printf("verify: %lld rows, %lld ok; missing %lld, wrong size %lld, "
	    "wrong sha256 %lld, unreadable %lld; objects without a row %lld\n",
	    r.rows, r.ok, r.missing, r.bad_size, r.bad_sha256, r.unreadable,
	    r.orphans);
	if (rc == -1)
		return cli_fail("verify: could not finish: %s",
		    db_errmsg(c->db));
	bad = backup_problems(&r);
	if (bad > 0)
		return cli_fail("verify: %lld problem(s)", bad);
	return 0;
}

/* The rows db copy copied, printed once it has committed. */
struct copied {
	const char	*table[64];
	long long	 rows[64];
	size_t		 n;
};

static int
note_copied(void *arg, const char *table, long long rows)
{
	struct copied *cp = arg;

	if (cp->n == sizeof(cp->table) / sizeof(cp->table[0]))
		return -1;
	cp->table[cp->n] = table;
	cp->rows[cp->n++] = rows;
	return 0;
}

/*
 * db copy --from PATH: every row of the SQLite database at PATH into the
 * PostgreSQL database FILESTOR_DB names, migrated and empty (dbcopy.h;
 * main() refuses a SQLite FILESTOR_DB and an unmigrated one). Once it has
 * committed: "TABLE<TAB>ROWS" per table, then a summary line.
 */
static int
cmd_db_copy(struct ctl *c, struct cli_args *ar)
{
	const char *from = cli_opt(ar, "--from");
	struct copied cp;
	struct db *src;
	char err[1024];
	long long total = 0;
	size_t i;
	int rc;

	if (ar->npos != 0)
		return usage_fail(c);
	if (!need(from, "--from"))
		return 1;
	if (db_is_pg_uri(from))
		return cli_fail("db copy: --from must be a SQLite database file"
		    " (the single-host install's FILESTOR_DB)");
	src = db_open(from, DB_OPEN_READONLY, err, sizeof(err));
	if (src == NULL)
		return cli_fail("db copy: %s", err);
	memset(&cp, 0, sizeof(cp));
	rc = dbcopy_run(src, c->db, note_copied, &cp, err, sizeof(err));
	db_close(src);
	if (rc == -1)
		return cli_fail("db copy: %s; nothing was copied", err);
	for (i = 0; i < cp.n; i++) {
		printf("%s\t%lld\n", cp.table[i], cp.rows[i]);
		total += cp.rows[i];
	}
	printf("db copy: %s: %zu tables, %lld rows, schema %d, copied into "
	    "PostgreSQL\n", from, cp.n, total, db_schema_version(c->db));
	return 0;
}

/*
 * s3 presign PHYSICAL_KEY --expires SECONDS [--at YYYYMMDDTHHMMSSZ]: a
 * presigned GET URL of the configured bucket (S3_*), the key verbatim.
 * --at fixes the signing time, so the output is reproducible.
 */
static int
cmd_s3_presign(struct ctl *c, struct cli_args *ar)
{
	const char *exps = cli_opt(ar, "--expires"), *at = cli_opt(ar, "--at");
	struct store *s;
	long long exp;
	time_t now = time(NULL);
	char err[512], *url;

	if (ar->npos != 1 || exps == NULL)
		return usage_fail(c);
	if (c->cfg.s3.bucket == NULL)
		return cli_fail("S3_BUCKET is not set");
	if (http_parse_ll(exps, 1, 7 * 86400, &exp) == -1)
		return cli_fail("--expires must be from 1 to 604800 seconds");
	if (at != NULL && sigv4_parse_amz_date(at, &now) == -1)
		return cli_fail("--at must be YYYYMMDDTHHMMSSZ");
	s = store_open(&c->cfg, err, sizeof(err));
	if (s == NULL)
		return cli_fail("%s", err);
	url = store_presign_get(s, ar->pos[0], exp, now);
	store_close(s);
	if (url == NULL)
		return cli_fail("cannot presign that key");
	printf("%s\n", url);
	free(url);
	return 0;
}

/* agent token --tenant TID [--ttl SECONDS]: the token alone on stdout. */
static int
cmd_agent_token(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant"), *ttls = cli_opt(ar, "--ttl");
	char *tok = NULL, err[512], when[32];
	long long ttl = AGENT_ENROLL_TTL, exp;

	if (ar->npos != 0)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant"))
		return 1;
	if (ttls != NULL && http_parse_ll(ttls, 60, AGENT_ENROLL_TTL_MAX,
	    &ttl) == -1)
		return cli_fail("--ttl must be 60 to %d seconds",
		    AGENT_ENROLL_TTL_MAX);
	if (agent_enroll_token_create(c->db, tid, ttl, &tok, &exp, err,
	    sizeof(err)) == -1)
		return cli_fail("%s", err);
	show_secret(tok);
	db_iso8601(exp, when);
	fprintf(stderr, "filestorctl: one-time enrollment token, valid until "
	    "%s\n", when);
	return 0;
}

static int
print_agent(void *arg, const struct agent_row *a)
{
	char seen[32];

	if (a->last_seen_at >= 0)
		db_iso8601(a->last_seen_at, seen);
	else
		snprintf(seen, sizeof(seen), "never");
	printf("%s\t%s\t%s\t%s%s\t%s\n", a->id, a->name, a->roots_json,
	    a->enabled ? "on " : "off ",
	    a->hostname != NULL ? a->hostname : "-", seen);
	return 0;
}

static int
cmd_agent_list(struct ctl *c, struct cli_args *ar)
{
	const char *tid = cli_opt(ar, "--tenant");

	if (ar->npos != 0)
		return usage_fail(c);
	if (!need_uuid(tid, "--tenant"))
		return 1;
	printf("ID\tNAME\tROOTS\tTUNNEL\tLAST_SEEN\n");
	if (agent_each(c->db, tid, print_agent, NULL) == -1)
		return cli_fail("database: %s", db_errmsg(c->db));
	return 0;
}

static const char *const no_opts[] = { NULL };
static const char *const o_plan[] = { "--tenant", "--user", "--prefix", NULL };
static const char *const o_tenant[] = { "--tenant", NULL };
static const char *const o_user[] = { "--tenant", "--role", NULL };
static const char *const f_user[] = { "--password-stdin", NULL };
static const char *const o_key[] = { "--tenant", "--user", "--name", NULL };
static const char *const f_admin[] = { "--admin", NULL };
static const char *const f_key[] = { "--s3", NULL };
static const char *const o_perm[] = { "--tenant", "--condition", NULL };
static const char *const o_agent[] = { "--tenant", "--ttl", NULL };
static const char *const o_presign[] = { "--expires", "--at", NULL };
static const char *const o_dbcopy[] = { "--from", NULL };

/* The dispatch table: struct cmd above. The order is that of --help. */
static const struct cmd cmds[] = {
	{ "migrate", NULL, "", no_opts, no_opts, cmd_migrate },
	{ "tenant", "create", "NAME", no_opts, no_opts, cmd_tenant_create },
	{ "tenant", "list", "", no_opts, no_opts, cmd_tenant_list },
	{ "user", "create", "EMAIL --tenant TID --role ROLE [--password-stdin]",
	    o_user, f_user, cmd_user_create },
	{ "user", "set-role", "USER_ID --tenant TID --role ROLE", o_user,
	    no_opts, cmd_user_set_role },
	{ "apikey", "create", "--tenant TID --user UID [--name N] [--s3]",
	    o_key, f_key, cmd_apikey_create },
	{ "apikey", "list", "--tenant TID", o_tenant, no_opts,
	    cmd_apikey_list },
	{ "apikey", "revoke", "KEY_ID", no_opts, no_opts, cmd_apikey_revoke },
	{ "role", "create", "NAME --tenant TID [--admin]", o_tenant, f_admin,
	    cmd_role_create },
	{ "permission", "add", "ROLE COLLECTION ACTION [--condition JSON] "
	    "[--tenant TID]", o_perm, no_opts, cmd_permission_add },
	{ "permission", "list", "ROLE [--tenant TID]", o_tenant, no_opts,
	    cmd_permission_list },
	{ "agent", "token", "--tenant TID [--ttl SECONDS]", o_agent, no_opts,
	    cmd_agent_token },
	{ "agent", "list", "--tenant TID", o_tenant, no_opts, cmd_agent_list },
	{ "s3", "presign", "PHYSICAL_KEY --expires SECONDS "
	    "[--at YYYYMMDDTHHMMSSZ]", o_presign, no_opts, cmd_s3_presign },
	{ "debug", "list-plan", "--tenant TID --user UID [--prefix P]", o_plan,
	    no_opts, cmd_debug_list_plan },
	{ "gc", NULL, "", no_opts, no_opts, cmd_gc },
	{ "backup", NULL, "DIR", no_opts, no_opts, cmd_backup },
	{ "verify", NULL, "", no_opts, no_opts, cmd_verify },
	{ "db", "copy", "--from PATH", o_dbcopy, no_opts, cmd_db_copy },
};

/*
 * The command list: on stdout with exit 0 when asked for (--help, -h,
 * help), on stderr with exit 2 after a wrong command.
 */
static int
usage(int asked)
{
	FILE *f = asked ? stdout : stderr;
	size_t i;

	fprintf(f, "usage: filestorctl COMMAND [ARGUMENTS]\n"
	    "       filestorctl COMMAND --help\n"
	    "commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		fprintf(f, "  ");
		cmd_synopsis(f, &cmds[i]);
	}
	/* (No line of this below the list may start "  " and a lower-case
	 * letter: tests/t12-install.sh reads those as commands.) */
	fprintf(f, "environment: FILESTOR_DB (default ./.data/filestor.db); gc "
	    "also\n"
	    "  FILESTOR_CACHE_DIR and RENDITION_CACHE_BYTES; gc, verify, "
	    "backup and\n"
	    "  \"s3 presign\" the store's settings (FILESTOR_DATA_DIR or "
	    "S3_*).\n"
	    "  See docs/operations.md section 9.\n");
	return asked ? 0 : 2;
}

static int
is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int
main(int argc, char *argv[])
{
	struct ctl c;
	struct cli_args ar;
	char err[512];
	size_t i;
	int a, ret = 1, skip, migrating;

	cli_setprog("filestorctl");
	if (argc < 2)
		return usage(0);
	if (is_help(argv[1]) || strcmp(argv[1], "help") == 0)
		return usage(1);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].noun) != 0)
			continue;
		if (cmds[i].verb == NULL)
			break;
		if (argc > 2 && strcmp(argv[2], cmds[i].verb) == 0)
			break;
	}
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return usage(0);
	skip = cmds[i].verb != NULL ? 3 : 2;
	for (a = skip; a < argc; a++) {
		if (is_help(argv[a])) {
			printf("usage: filestorctl ");
			cmd_synopsis(stdout, &cmds[i]);
			return 0;
		}
	}
	if (cli_parse(argc - skip, argv + skip, cmds[i].vals, cmds[i].flags,
	    CLI_MAX_POS, &ar) != 0)
		return 2;

	memset(&c, 0, sizeof(c));
	c.cmd = &cmds[i];
	if (cfg_load(&c.cfg, 0, err, sizeof(err)) == -1)
		return cli_fail("%s", err);
	if (cmds[i].fn == cmd_s3_presign) {
		/* Needs no database. */
		ret = cmd_s3_presign(&c, &ar);
		goto out;
	}
	if (cmds[i].fn == cmd_db_copy && !db_is_pg_uri(c.cfg.db_path)) {
		cli_fail("db copy: FILESTOR_DB must name the PostgreSQL database "
		    "to copy into (postgresql://...), not a SQLite file");
		goto out;
	}
	migrating = cmds[i].fn == cmd_migrate;
	c.db = db_open(c.cfg.db_path, (migrating ? DB_OPEN_CREATE : 0) |
	    cfg_db_flags(&c.cfg), err, sizeof(err));
	if (c.db == NULL) {
		cli_fail("%s", err);
		goto out;
	}
	if (!migrating && !db_is_current(c.db)) {
		/* (Never a URI: it may hold a password.) */
		cli_fail("database %s is not migrated: run filestorctl migrate",
		    db_is_pg_uri(c.cfg.db_path) ? "(PostgreSQL, FILESTOR_DB)" :
		    c.cfg.db_path);
		goto out;
	}
	ret = cmds[i].fn(&c, &ar);
out:
	db_close(c.db);
	cfg_free(&c.cfg);
	return ret;
}
