/*
 * folder_db: the folders table (DESIGN §5): its rows and every statement
 * on it. Permissions are those of the system_folders collection. It knows
 * nothing of HTTP.
 */
#ifndef FS_FOLDER_DB_H
#define FS_FOLDER_DB_H

#include <cjson/cJSON.h>
#include "db.h"

#include "err.h"
#include "perm.h"
#include "principal.h"

#define FOLDER_NAME_MAX	255

struct folder_row {
	char		 id[37];
	char		 name[FOLDER_NAME_MAX + 1];
	char		 owner_id[37];	/* "" when NULL */
	long long	 created_at;
	long long	 updated_at;
};

/* Load folder id: FS_OK, FS_NOT_FOUND or FS_INTERNAL. */
enum fs_err	 folder_load(struct db *db, const char *id,
		    struct folder_row *f);
/* The API form of a row. Caller deletes. */
cJSON		*folder_json(const struct folder_row *f);

/*
 * May p do action on folder id of its tenant? 1 yes, 0 no (no permission
 * row, the condition excludes it, or no such folder), -1 error.
 */
int		 folder_allowed(struct db *db, const struct principal *p,
		    enum perm_action action, const char *id);
/* May p create folder id named name? The create condition over the
 * would-be row: 1, 0 or -1. */
int		 folder_create_allowed(struct db *db, const struct principal *p,
		    const char *id, const char *name);

/*
 * The list statement: folders of tenant_id after (after_name, after_id)
 * (both "" for the first page), filtered by the read condition, ordered
 * by name then id, at most limit + 1 rows. Step it and read each row with
 * folder_row_from_stmt(); db_finalize() it. NULL on error.
 */
struct db_stmt	*folder_list_stmt(struct db *db, const char *tenant_id,
		    const char *after_name, const char *after_id,
		    const struct perm_sql *cond, long long limit);
void		 folder_row_from_stmt(struct db_stmt *st, struct folder_row *f);
/*
 * One page of the folders p may read after (after_name, after_id): at
 * most limit of them added to items (their API form), the last in *last.
 * 1 when a next page follows, 0 when not (also when p may read none), -1
 * on error.
 */
int		 folder_page(struct db *db, const struct principal *p,
		    const char *after_name, const char *after_id,
		    long long limit, cJSON *items, struct folder_row *last);

/*
 * Writes. FS_OK; FS_CONFLICT when the name is taken (create, rename) or
 * files still point at the folder (delete); FS_INTERNAL.
 */
enum fs_err	 folder_create(struct db *db, const char *id,
		    const char *tenant_id, const char *name,
		    const char *owner_id);
enum fs_err	 folder_rename(struct db *db, const char *id, const char *name);
enum fs_err	 folder_delete(struct db *db, const char *id);

#endif
