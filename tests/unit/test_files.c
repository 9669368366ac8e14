/*
 * files: the pure helpers (Content-Type checks, active types, URL paths)
 * and the permission checks on rows against a real in-memory database,
 * and publish and delete through rows over a local store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "files.h"
#include "folder_db.h"
#include "target.h"
#include "udb.h"

static void
test_content_type(void **state)
{
	static const char *ok[] = { "image/png", "text/plain; charset=utf-8",
	    "application/vnd.api+json", "a/b", "x-foo/y.z" };
	static const char *bad[] = { "", "png", "/png", "image/", "image png",
	    "image/png\x01", "ima ge/png", "image/p\xc3\xa9" };
	char big[300];

	(void)state;
	ASSERT_SORTS(file_content_type_ok, ok, bad);
	memset(big, 'a', sizeof(big));
	big[0] = 'a';
	big[1] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_false(file_content_type_ok(big));
	big[FILES_CTYPE_MAX] = '\0';
	assert_true(file_content_type_ok(big));
}

static void
test_content_type_wildcard(void **state)
{
	(void)state;
	assert_int_equal(file_content_type_wildcard("*/*"), 2);
	assert_int_equal(file_content_type_wildcard("*/*; q=1"), 2);
	assert_int_equal(file_content_type_wildcard("image/*"), 1);
	assert_int_equal(file_content_type_wildcard("*/png"), 1);
	assert_int_equal(file_content_type_wildcard("image/png"), 0);
	assert_int_equal(file_content_type_wildcard("image/*x"), 0);
	assert_int_equal(file_content_type_wildcard("x*/y"), 0);
	assert_int_equal(file_content_type_wildcard("text/plain; a=*"), 0);
}

static void
test_active(void **state)
{
	static const char *active[] = { "text/html", "TEXT/HTML; charset=x",
	    "image/svg+xml", "application/xhtml+xml", "text/xml",
	    "application/xml", "application/atom+xml", "text/javascript",
	    "application/pdf", "multipart/x-mixed-replace" };
	static const char *passive[] = { "image/png", "text/plain",
	    "application/json", "application/octet-stream", "video/mp4",
	    "text/css" };

	(void)state;
	ASSERT_SORTS(file_type_is_active, active, passive);
}

static void
test_url_path(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "a/b.txt", "a/b.txt" },
		{ "a b/c?d#e", "a%20b/c%3Fd%23e" },
		{ "\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9" },
		{ "100%", "100%25" },
		{ "~user/x-y_z.", "~user/x-y_z." },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = target_url_path(t[i].in);
		assert_non_null(s);
		assert_string_equal(s, t[i].out);
		free(s);
	}
}

#define TID	"11111111-1111-4111-8111-111111111111"
#define UA	"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define UB	"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

/* A migrated in-memory database with one tenant and two users. */
static int
setup_db(void **state)
{
	char id[37];
	struct db *db;

	if ((db = unit_db(id)) == NULL)
		return -1;
	/* Give the tenant a fixed id, so physical keys are predictable. */
	if (db_exec(db, "PRAGMA foreign_keys=OFF") != DB_OK)
		return -1;
	{
		char sql[512];
		snprintf(sql, sizeof(sql), "UPDATE tenants SET id='%s';"
		    "UPDATE roles SET tenant_id='%s';"
		    "PRAGMA foreign_keys=ON;", TID, TID);
		if (db_exec(db, sql) != DB_OK)
			return -1;
	}
	if (db_exec(db, "INSERT INTO users VALUES ('" UA "','a@x',NULL,0),"
	    "('" UB "','b@x',NULL,0);"
	    "INSERT INTO memberships SELECT u.id, r.tenant_id, r.id, 0"
	    " FROM users u, roles r WHERE r.name='authenticated';"
	    "INSERT INTO files (key,tenant_id,size,content_type,sha256,owner_id,"
	    "created_at,updated_at) VALUES ('tenants/" TID "/a.txt','" TID
	    "',1,'text/plain','x','" UA "',0,0);") != DB_OK)
		return -1;
	*state = db;
	return 0;
}

static int
teardown_db(void **state)
{
	db_close(*state);
	return 0;
}

static void
principal_of(struct db *db, const char *uid, struct principal *p)
{
	struct db_stmt *st;

	memset(p, 0, sizeof(*p));
	snprintf(p->user_id, sizeof(p->user_id), "%s", uid);
	snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", TID);
	assert_int_equal(db_prepare(db, "SELECT role_id FROM"
	    " memberships WHERE user_id = ?", &st), DB_OK);
	db_bind_text(st, 1, uid, -1);
	assert_int_equal(db_step(st), DB_ROW);
	snprintf(p->role_id, sizeof(p->role_id), "%s",
	    db_col_text(st, 0));
	db_finalize(st);
}

static void
test_owner_scoping(void **state)
{
	struct db *db = *state;
	struct principal a, b;
	const char *k = "tenants/" TID "/a.txt";

	principal_of(db, UA, &a);
	principal_of(db, UB, &b);
	assert_int_equal(file_allowed(db, &a, PERM_READ, k), 1);
	assert_int_equal(file_allowed(db, &a, PERM_UPDATE, k), 1);
	assert_int_equal(file_allowed(db, &a, PERM_DELETE, k), 1);
	assert_int_equal(file_allowed(db, &b, PERM_READ, k), 0);
	assert_int_equal(file_allowed(db, &b, PERM_UPDATE, k), 0);
	assert_int_equal(file_allowed(db, &b, PERM_DELETE, k), 0);
	/* A missing row is never allowed. */
	assert_int_equal(file_allowed(db, &a, PERM_READ, "tenants/" TID "/no"), 0);
	/* Create has no condition for "authenticated". */
	assert_int_equal(file_create_allowed(db, &b, "tenants/" TID "/b",
	    "text/plain", 1), 1);
}

static void
test_create_condition(void **state)
{
	struct db *db = *state;
	struct principal a;

	principal_of(db, UA, &a);
	/* Restrict creation to uploads/ and at most 10 bytes. */
	assert_int_equal(db_exec(db, "DELETE FROM permissions WHERE"
	    " collection='system_files' AND action='create';"
	    "INSERT INTO permissions (role_id, collection, action, condition)"
	    " SELECT id, 'system_files', 'create',"
	    " '{\"_and\":[{\"key\":{\"_starts_with\":\"uploads/\"}},"
	    "{\"content_type\":{\"_eq\":\"text/plain\"}}]}'"
	    " FROM roles WHERE name='authenticated'"), DB_OK);
	assert_int_equal(file_create_allowed(db, &a, "tenants/" TID "/uploads/x",
	    "text/plain", 5), 1);
	assert_int_equal(file_create_allowed(db, &a, "tenants/" TID "/other/x",
	    "text/plain", 5), 0);
	assert_int_equal(file_create_allowed(db, &a, "tenants/" TID "/uploads/x",
	    "image/png", 5), 0);
}

/* Set the create condition of the authenticated role on coll. */
static void
create_condition(struct db *db, const char *coll, const char *cond)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "DELETE FROM permissions WHERE"
	    " collection='%s' AND action='create';"
	    "INSERT INTO permissions (role_id, collection, action, condition)"
	    " SELECT id, '%s', 'create', '%s' FROM roles"
	    " WHERE name='authenticated'", coll, coll, cond);
	assert_int_equal(db_exec(db, sql), DB_OK);
}

/*
 * The would-be row has every column a condition may name, typed as the
 * stored one: an INTEGER column equals a numeric string, as it does in
 * the table, and a column the new row does not set is NULL.
 */
static void
test_would_be_row(void **state)
{
	struct db *db = *state;
	struct principal a;
	struct perm_sql all = { (char *)PERM_WHERE_ALL, NULL, 0 };
	const struct perm_cell bad[] = { { "sha256", "x", 0, 0 } };

	principal_of(db, UA, &a);
	create_condition(db, "system_files", "{\"_and\":[{\"size\":{\"_eq\":"
	    "\"5\"}},{\"folder_id\":{\"_null\":true}},{\"owner_id\":"
	    "{\"_eq\":\"$CURRENT_USER\"}},{\"created_at\":{\"_nnull\":true}}]}");
	assert_int_equal(file_create_allowed(db, &a, "tenants/" TID "/x",
	    "text/plain", 5), 1);
	assert_int_equal(file_create_allowed(db, &a, "tenants/" TID "/x",
	    "text/plain", 6), 0);
	create_condition(db, "system_folders", "{\"_and\":[{\"name\":"
	    "{\"_starts_with\":\"pub/\"}},{\"updated_at\":{\"_nnull\":true}}]}");
	assert_int_equal(folder_create_allowed(db, &a,
	    "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "pub/a"), 1);
	assert_int_equal(folder_create_allowed(db, &a,
	    "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "priv/a"), 0);
	/* A column the collection has no field for is an error. */
	all.where = (char *)"(FALSE)";
	assert_int_equal(perm_row_allowed(db, PERM_FILES, bad, 1, &all), -1);
}

static void
test_list_stmt(void **state)
{
	struct db *db = *state;
	struct perm_sql all = { .where = (char *)PERM_WHERE_ALL };
	struct db_stmt *st;
	int n = 0;

	assert_int_equal(db_exec(db, "INSERT INTO files (key,tenant_id,size,"
	    "content_type,sha256,created_at,updated_at) VALUES"
	    " ('tenants/" TID "/img/1',  '" TID "',1,'a/b','x',0,0),"
	    " ('tenants/" TID "/img/2',  '" TID "',1,'a/b','x',0,0),"
	    " ('tenants/" TID "/img',    '" TID "',1,'a/b','x',0,0),"
	    " ('tenants/" TID "/imh',    '" TID "',1,'a/b','x',0,0)"),
	    DB_OK);
	/* prefix img/ after img/1: only img/2; limit + 1 rows at most. */
	st = file_list_stmt(db, TID, "img/", "img/1", &all, 10);
	assert_non_null(st);
	while (db_step(st) == DB_ROW) {
		assert_string_equal((const char *)db_col_text(st, 0),
		    "tenants/" TID "/img/2");
		n++;
	}
	db_finalize(st);
	assert_int_equal(n, 1);
	/* prefix "img" covers img, img/1, img/2 but not imh. */
	st = file_list_stmt(db, TID, "img", "", &all, 10);
	for (n = 0; db_step(st) == DB_ROW; n++)
		;
	db_finalize(st);
	assert_int_equal(n, 3);
	st = file_list_stmt(db, TID, "", "", &all, 1);
	for (n = 0; db_step(st) == DB_ROW; n++)
		;
	db_finalize(st);
	assert_int_equal(n, 2);	/* limit 1 + 1 */
}

/* Stream content into a finished writer of pkey; its pending name. */
static struct store_writer *
upload(struct store *s, const char *pkey, const char *content,
    char name[FILES_PENDING_MAX + 1])
{
	struct store_writer *w = NULL;

	assert_int_equal(store_writer_open(s, pkey, &w), FS_OK);
	assert_int_equal(store_write(w, content, strlen(content)), FS_OK);
	assert_int_equal(store_finish(w, NULL, NULL), FS_OK);
	assert_non_null(store_writer_pending(w));
	snprintf(name, FILES_PENDING_MAX + 1, "%s", store_writer_pending(w));
	return w;
}

/* Commit pkey's row naming name; the pending name it had goes to old. */
static void
row_commit(struct db *db, const struct principal *p, const char *pkey,
    const char *name, char old[FILES_PENDING_MAX + 1])
{
	assert_int_equal(db_begin(db), DB_OK);
	assert_int_equal(file_upsert(db, p, pkey, "text/plain", 3, "h", name,
	    old), FS_OK);
	assert_int_equal(file_commit(db), FS_OK);
}

/* The bytes readers of pkey's row get. */
static const char *
row_bytes(struct db *db, struct store *s, const char *pkey, char *buf,
    size_t cap)
{
	struct store_reader *rd = NULL;
	struct file_row f;
	ssize_t n;

	assert_int_equal(file_load(db, pkey, &f), FS_OK);
	assert_int_equal(store_reader_open_row(s, pkey, f.pending, 0, -1, &rd),
	    FS_OK);
	n = store_read(rd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	store_reader_free(rd);
	file_row_free(&f);
	return buf;
}

/*
 * A row commits naming its temp object; a later PUT supersedes it before
 * its publish runs (which then drops it); recovery publishes the later
 * one; a delete takes the row, and gc the object left without it.
 */
static void
test_publish_flow(void **state)
{
	struct db *db = *state;
	struct principal a;
	struct store *s;
	struct store_writer *w1, *w2;
	struct file_row f;
	char dir[] = "/tmp/fs_files_XXXXXX", n1[FILES_PENDING_MAX + 1];
	char n2[FILES_PENDING_MAX + 1], old[FILES_PENDING_MAX + 1], buf[64];
	char path[256];
	static const char *left[] = { "/.tmp", "/tenants/" TID, "/tenants",
	    "" };
	const char *pk = "tenants/" TID "/a.txt";
	long long failed = -1;
	size_t i;

	assert_non_null(mkdtemp(dir));
	s = store_open_local(dir, buf, sizeof(buf));
	assert_non_null(s);
	principal_of(db, UA, &a);

	w1 = upload(s, pk, "one", n1);
	row_commit(db, &a, pk, n1, old);
	assert_string_equal(old, "");
	store_writer_keep(w1);
	store_writer_free(w1);
	assert_true(file_pending_kept(db, n1));
	assert_string_equal(row_bytes(db, s, pk, buf, sizeof(buf)), "one");

	w2 = upload(s, pk, "two", n2);
	row_commit(db, &a, pk, n2, old);
	assert_string_equal(old, n1);
	store_writer_keep(w2);
	store_writer_free(w2);
	assert_false(file_pending_kept(db, n1));
	/* The first publish comes late: superseded, it only drops its own. */
	assert_int_equal(file_publish(db, s, pk, n1), FS_OK);
	assert_string_equal(row_bytes(db, s, pk, buf, sizeof(buf)), "two");

	assert_int_equal(file_recover(db, s, &failed), 1);
	assert_int_equal(failed, 0);
	assert_int_equal(file_load(db, pk, &f), FS_OK);
	assert_string_equal(f.pending, "");
	file_row_free(&f);
	assert_string_equal(row_bytes(db, s, pk, buf, sizeof(buf)), "two");
	assert_int_equal(store_gc_tmp(s, 0, file_pending_kept, db), 0);

	assert_int_equal(file_patch(db, pk, "public", 0, NULL), FS_OK);
	/* A folder deleted since the caller checked it (a delete on
	   another host): the foreign key's refusal is a 422, not a 500. */
	assert_int_equal(file_patch(db, pk, NULL, 1,
	    "00000000-0000-4000-8000-0000000000f0"), FS_VALIDATION);
	assert_int_equal(file_load(db, pk, &f), FS_OK);
	assert_string_equal(f.folder_id, "");
	file_row_free(&f);
	assert_int_equal(file_delete_row(db, pk, old), FS_OK);
	assert_string_equal(old, "");
	assert_int_equal(file_load(db, pk, &f), FS_NOT_FOUND);
	/* A crash here: the object stays without its row, until gc. */
	assert_int_equal(file_gc_objects(db, s), 1);
	assert_int_equal(file_gc_objects(db, s), 0);
	assert_int_equal(file_remove_object(db, s, pk, old), FS_OK);

	store_close(s);
	/* All that is left: the directories. */
	for (i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, left[i]);
		if (rmdir(path) != 0)
			fail_msg("rmdir %s: %s", path, strerror(errno));
	}
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_content_type),
    cmocka_unit_test(test_content_type_wildcard),
    cmocka_unit_test(test_active),
    cmocka_unit_test(test_url_path),
    cmocka_unit_test_setup_teardown(test_owner_scoping, setup_db,
        teardown_db),
    cmocka_unit_test_setup_teardown(test_create_condition, setup_db,
        teardown_db),
    cmocka_unit_test_setup_teardown(test_would_be_row, setup_db,
        teardown_db),
    cmocka_unit_test_setup_teardown(test_list_stmt, setup_db,
        teardown_db),
    cmocka_unit_test_setup_teardown(test_publish_flow, setup_db,
        teardown_db))
