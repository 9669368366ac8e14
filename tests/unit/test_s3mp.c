/*
 * Unit tests for common/s3mp.c's assembly file (sql/0010): the claims
 * that place parts at (N-1) * S, and when Complete may publish the file
 * as it stands.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"
#include "auth.h"
#include "db.h"
#include "s3mp.h"
#include "udb.h"

#define ASM	"0123456789abcdef0123456789abcdef"
#define UA	"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

/* A migrated in-memory database with one tenant. */
static int
setup_db(void **state)
{
	char tid[37];

	return (*state = unit_db(tid)) == NULL ? -1 : 0;
}

static int
teardown_db(void **state)
{
	db_close(*state);
	return 0;
}

static void
new_upload(struct db *db, const char *assembly, char id[S3MP_ID_LEN + 1])
{
	struct db_stmt *st;
	char tid[37];

	st = db_stmt(db, "SELECT id FROM tenants");
	assert_non_null(st);
	assert_int_equal(db_step(st), DB_ROW);
	snprintf(tid, sizeof(tid), "%s", db_col_text(st, 0));
	db_stmt_done(st);
	assert_int_equal(s3mp_create(db, tid, UA, "tenants/x/k", "a/b", NULL,
	    assembly, id), FS_OK);
}

/* A claimed part, written: its row as s3.c records it. */
static void
put_part(struct db *db, const char *id, int n, long long size, long long off,
    const char *pending)
{
	struct s3mp_part p;
	char old[FILES_PENDING_MAX + 1];

	memset(&p, 0, sizeof(p));
	p.number = n;
	p.size = size;
	p.offset = off;
	snprintf(p.md5, sizeof(p.md5), "%032d", n);
	snprintf(p.pending, sizeof(p.pending), "%s", pending);
	assert_int_equal(s3mp_part_put(db, id, &p, old), FS_OK);
}

static void
test_claims(void **state)
{
	struct db *db = *state;
	struct s3mp_part *parts;
	char id[S3MP_ID_LEN + 1], none[S3MP_ID_LEN + 1];
	long long off;
	size_t n;

	new_upload(db, ASM, id);
	/* The first claim fixes S, whichever part it is. */
	assert_int_equal(s3mp_claim(db, id, 3, 100, &off), FS_OK);
	assert_int_equal(off, 200);
	/* A claim is not a part yet. */
	assert_int_equal(s3mp_parts(db, id, &parts, &n), FS_OK);
	assert_int_equal(n, 0);
	free(parts);
	/* Smaller fits (a last part); larger does not; nor a second claim. */
	assert_int_equal(s3mp_claim(db, id, 5, 10, &off), FS_OK);
	assert_int_equal(off, 400);
	assert_int_equal(s3mp_claim(db, id, 1, 101, &off), FS_CONFLICT);
	assert_int_equal(s3mp_claim(db, id, 3, 100, &off), FS_CONFLICT);
	/* Dropped after a failed write: the range can be claimed again. */
	s3mp_unclaim(db, id, 3);
	assert_int_equal(s3mp_claim(db, id, 3, 100, &off), FS_OK);
	/* A written part is never claimed again: its re-upload goes aside. */
	put_part(db, id, 3, 100, 200, ASM);
	assert_int_equal(s3mp_claim(db, id, 3, 100, &off), FS_CONFLICT);
	s3mp_unclaim(db, id, 3);
	assert_int_equal(s3mp_parts(db, id, &parts, &n), FS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(parts[0].offset, 200);
	free(parts);
	/* No assembly file (S3): every part goes aside. */
	new_upload(db, NULL, none);
	assert_int_equal(s3mp_claim(db, none, 1, 100, &off), FS_CONFLICT);
	assert_int_equal(s3mp_delete(db, id), FS_OK);
	assert_int_equal(s3mp_claim(db, id, 1, 100, &off), FS_NOT_FOUND);
}

/* An upload with part size 10 and its parts as rows. */
static void
in_place_case(const int *num, const long long *size, const long long *off,
    const char *const *pend, size_t nhave, size_t nchosen, int want,
    long long want_total)
{
	struct s3mp_upload u;
	struct s3mp_part have[8], *chosen[8];
	long long total = -1;
	size_t i;

	memset(&u, 0, sizeof(u));
	snprintf(u.assembly, sizeof(u.assembly), "%s", ASM);
	u.part_size = 10;
	for (i = 0; i < nhave; i++) {
		memset(&have[i], 0, sizeof(have[i]));
		have[i].number = num[i];
		have[i].size = size[i];
		have[i].offset = off[i];
		snprintf(have[i].pending, sizeof(have[i].pending), "%s",
		    pend[i]);
		chosen[i] = &have[i];
	}
	assert_int_equal(s3mp_in_place(&u, chosen, nchosen, have, nhave,
	    &total), want);
	if (want)
		assert_int_equal(total, want_total);
}

static void
test_in_place(void **state)
{
	static const int num[] = { 1, 2, 3 };
	static const long long full[] = { 10, 10, 4 }, at[] = { 0, 10, 20 };
	static const long long short1[] = { 10, 9, 4 };
	static const long long off1[] = { 0, 11, 20 };
	static const char *const in[] = { ASM, ASM, ASM };
	static const char *const aside[] = { ASM,
	    "ffffffffffffffffffffffffffffffff", ASM };
	static const int gap[] = { 1, 3 };

	(void)state;
	in_place_case(num, full, at, in, 3, 3, 1, 24);
	in_place_case(num, full, at, in, 3, 1, 0, 0);	/* part 2, 3 cut */
	in_place_case(num, short1, at, in, 3, 3, 0, 0);	/* a short middle */
	in_place_case(num, full, off1, in, 3, 3, 0, 0);	/* not at (N-1)*S */
	in_place_case(num, full, at, aside, 3, 3, 1, 24); /* copied in */
	in_place_case(num, short1, at, aside, 3, 3, 0, 0); /* not S aside */
	in_place_case(gap, full, at, in, 2, 2, 0, 0);	/* 1, 3: a gap */
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test_setup_teardown(test_claims, setup_db, teardown_db),
    cmocka_unit_test(test_in_place))
