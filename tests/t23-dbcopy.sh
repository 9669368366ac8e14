# Moving a single-host install to PostgreSQL (issue 18): `filestorctl db
# copy --from PATH` copies every row of a SQLite database into the
# PostgreSQL database FILESTOR_DB names (docs/operations.md §5).
#
# - The source: the suite's database when the suite runs on SQLite, with
#   whatever the files before this one left in it; when it runs on
#   PostgreSQL, a SQLite database of this test's own, behind a second
#   server, stopped before the copy.
# - Made through the API and filestorctl: a tenant, an admin with a
#   password and a session (a login), a role that may read shared/ only (a
#   permission row with a condition) and a user of it, API keys, a folder,
#   files in it and outside it.
# - The target: a private PostgreSQL (tests/pg.sh) in TEST_TMP, stopped at
#   the end, also when a check or the script fails (tests/run does not
#   know it).
# - The refusals (a SQLite target, an unmigrated one, one with rows, a
#   PostgreSQL source), the rows of every table, values on both sides, the
#   permission sequence after the copy, then a second server on the copy
#   serving the files to the copied keys, session and permission.

W=$TEST_TMP/w
mkdir -p "$W"
# shellcheck source=tests/pg.sh
. "$FILESTOR_TOP/tests/pg.sh"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
SQLS=("$FILESTOR_TOP"/sql/*.sql)

t23_cleanup() {
	[ -n "${RUN2:-}" ] && stop_server2
	pg_stop
}
trap t23_cleanup EXIT
trap 't23_cleanup; exit 130' INT TERM

# --- the source
case $FILESTOR_DB in
postgresql://* | postgres://*)
	SRC=$W/source.db
	start_server2 "FILESTOR_DB=$SRC" METRICS=0
	check "a SQLite source behind a second server" test -n "${BASE2:-}"
	SBASE=$BASE2
	;;
*)
	SRC=$FILESTOR_DB
	SBASE=${BASE:?}
	;;
esac
# sctl ARGS...: filestorctl on the source; lite SQL: a value of it.
sctl() { FILESTOR_DB=$SRC "$FILESTORCTL" "$@"; }
lite() { sqlite3 "$SRC" "$1"; }

TID=$(sctl tenant create "dbcopy-$RANDOM")
PW="pw-$RANDOM$RANDOM"
EA="dbcopy-a-$RANDOM$RANDOM@example.com"
UA=$(printf '%s\n' "$PW" | sctl user create "$EA" --tenant "$TID" --role admin --password-stdin)
sctl role create shared-reader --tenant "$TID" >/dev/null
COND='{"key":{"_starts_with":"shared/"}}'
PERM=$(sctl permission add shared-reader system_files read --tenant "$TID" --condition "$COND")
UR=$(sctl user create "dbcopy-r-$RANDOM$RANDOM@example.com" --tenant "$TID" --role shared-reader)
KA=$(sctl apikey create --tenant "$TID" --user "$UA" --name admin 2>/dev/null)
KR=$(sctl apikey create --tenant "$TID" --user "$UR" 2>/dev/null)
check "source: the identities" test -n "$UA" -a -n "$UR" -a -n "$PERM" -a -n "$KA" -a -n "$KR"
A=(-H "Authorization: Bearer $KA")
R=(-H "Authorization: Bearer $KR")
FID=$(curl -s "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"Reports"}' "$SBASE/api/folders" | jq -r .id)
check "source: a folder" test -n "$FID" -a "$FID" != null
printf 'shared and filed\n' >"$W/a"
head -c 100000 /dev/urandom >"$W/b"
req PUT "$SBASE/api/storage/shared/a.txt" "${A[@]}" --data-binary @"$W/a"
expect_status 201 "source: upload shared/a.txt"
req PUT "$SBASE/api/storage/private/b.bin" "${A[@]}" --data-binary @"$W/b"
expect_status 201 "source: upload private/b.bin"
req PATCH "$SBASE/api/storage/shared/a.txt" "${A[@]}" -H 'Content-Type: application/json' \
    -d "{\"folderId\":\"$FID\"}"
expect_status 200 "source: shared/a.txt into the folder"
req POST "$SBASE/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$EA\",\"password\":\"$PW\"}" -c "$W/jar"
expect_status 200 "source: a login (a session row)"
req GET "$SBASE/api/storage/private/b.bin" "${R[@]}"
expect_status 404 "source: the reader's permission stops at shared/"

# The source is quiet from here on, as db copy wants it.
[ "$SBASE" = "${BASE2:-}" ] && stop_server2

# --- the target
if ! pg_start "$TEST_TMP/pg" >"$W/pg.out" 2>&1; then
	fail "a private PostgreSQL (tests/pg.sh)" "$(tail -n 5 "$W/pg.out")"
	return 0
fi
pass "a private PostgreSQL (tests/pg.sh)"
PGURI=$FILESTOR_PG_URI
pctl() { FILESTOR_DB=$PGURI "$FILESTORCTL" "$@"; }
pg() { pg_psql -tAc "$1"; }

# --- the refusals before a copy
FILESTOR_DB=$W/target.db "$FILESTORCTL" db copy --from "$SRC" >"$W/o" 2>"$W/e"
check "a SQLite target: refused" eq "$?:$(cat "$W/o" "$W/e")" \
    "1:filestorctl: db copy: FILESTOR_DB must name the PostgreSQL database to copy into (postgresql://...), not a SQLite file"
check "a SQLite target: no file made" test ! -e "$W/target.db"
pctl db copy --from "$SRC" >"$W/o" 2>"$W/e"
check "an unmigrated target: refused, the URI not shown" eq "$?:$(cat "$W/o" "$W/e")" \
    "1:filestorctl: database (PostgreSQL, FILESTOR_DB) is not migrated: run filestorctl migrate"
pctl migrate 2>"$W/e"
check "migrate the target" eq "$?:$(cat "$W/e")" "0:filestorctl: ${#SQLS[@]} migration(s) applied"
pctl db copy --from "$PGURI" >"$W/o" 2>"$W/e"
check "a PostgreSQL source: refused" eq "$?:$(cat "$W/o" "$W/e")" \
    "1:filestorctl: db copy: --from must be a SQLite database file (the single-host install's FILESTOR_DB)"
pctl db copy --from "$W/nothing.db" >"$W/o" 2>"$W/e"
check "a missing source: refused, not made" eq "$?:$(cat "$W/o"):$(test -e "$W/nothing.db" && echo made)" "1::"
check "a missing source: the message" has "$(cat "$W/e")" "filestorctl: db copy: cannot open database $W/nothing.db"
pctl db copy >"$W/o" 2>"$W/e"
check "without --from: refused" eq "$?:$(cat "$W/o" "$W/e")" "1:filestorctl: --from is required"

# --- the copy
pctl db copy --from "$SRC" >"$W/copy.out" 2>"$W/copy.err"
check "db copy: exit 0, nothing on stderr" eq "$?:$(cat "$W/copy.err")" "0:"
# Every table of the source but the two it leaves, in foreign-key order.
check "db copy: a line per table of the source, but schema_migrations and agent_relays" eq \
    "$(sed '$d' "$W/copy.out" | cut -f1 | sort | tr '\n' ' ')" \
    "$(lite "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT IN ('schema_migrations', 'agent_relays') AND name NOT LIKE 'sqlite%' ORDER BY name" | tr '\n' ' ')"
check "db copy: parents first" eq "$(sed '$d' "$W/copy.out" | cut -f1 | head -n 5 | tr '\n' ' ')" \
    "tenants users roles memberships permissions "
SCHEMA=$(basename "${SQLS[-1]}" | sed 's/^0*\([0-9]*\)-.*/\1/')
check "db copy: the summary line" eq "$(tail -n1 "$W/copy.out")" \
    "db copy: $SRC: $(sed '$d' "$W/copy.out" | wc -l) tables, $(sed '$d' "$W/copy.out" | awk -F'\t' '{ n += $2 } END { print n }') rows, schema $SCHEMA, copied into PostgreSQL"
bad=""
while IFS=$'\t' read -r t n; do
	s=$(lite "SELECT count(*) FROM \"$t\"")
	p=$(pg "SELECT count(*) FROM \"$t\"")
	[ "$n:$s:$p" = "$n:$n:$n" ] || bad="$bad $t(said $n, source $s, target $p)"
done < <(sed '$d' "$W/copy.out")
check "the rows of every table: the source's, in the target" eq "$bad" ""
check "the target: no agent_relays rows" eq "$(pg "SELECT count(*) FROM agent_relays")" 0
check "the tenant's files: 2 rows" eq "$(pg "SELECT count(*) FROM files WHERE tenant_id = '$TID'")" 2

# Values, as SQLite held them.
for q in "sha256 FROM files WHERE key = 'tenants/$TID/private/b.bin'" \
    "folder_id FROM files WHERE key = 'tenants/$TID/shared/a.txt'" \
    "condition FROM permissions WHERE id = $PERM" \
    "role_id || ' ' || collection || ' ' || action FROM permissions WHERE id = $PERM" \
    "email || ' ' || created_at FROM users WHERE id = '$UA'" \
    "count(*) FROM users WHERE id = '$UR' AND password_hash IS NULL" \
    "name || ' ' || created_at FROM api_keys WHERE user_id = '$UA'"; do
	check "the same in both: SELECT $q" eq "$(pg "SELECT $q")" "$(lite "SELECT $q")"
done
check "a file's sha256: the upload's" eq "$(pg "SELECT sha256 FROM files WHERE key = 'tenants/$TID/private/b.bin'")" "$(sha "$W/b")"
check "the API key's hash (hex): SHA-256 of the key, as in SQLite" eq \
    "$(pg "SELECT encode(key_hash, 'hex') FROM api_keys WHERE user_id = '$UA'"):$(lite "SELECT lower(hex(key_hash)) FROM api_keys WHERE user_id = '$UA'")" \
    "$(printf '%s' "$KA" | sha256sum | cut -d' ' -f1):$(printf '%s' "$KA" | sha256sum | cut -d' ' -f1)"
check "the session's hash (hex)" eq \
    "$(pg "SELECT string_agg(encode(token_hash, 'hex'), ',' ORDER BY 1) FROM sessions WHERE user_id = '$UA'")" \
    "$(lite "SELECT group_concat(h, ',') FROM (SELECT lower(hex(token_hash)) AS h FROM sessions WHERE user_id = '$UA' ORDER BY 1)")"
check "the permission's condition" eq "$(pg "SELECT condition FROM permissions WHERE id = $PERM")" "$COND"
check "permission list: the same on both engines" eq \
    "$(pctl permission list shared-reader --tenant "$TID")" "$(sctl permission list shared-reader --tenant "$TID")"
check "apikey list: the same on both engines" eq \
    "$(pctl apikey list --tenant "$TID")" "$(sctl apikey list --tenant "$TID")"

# The target is no longer empty: a second copy is refused, untouched.
TENANTS=$(pg "SELECT count(*) FROM tenants")
pctl db copy --from "$SRC" >"$W/o" 2>"$W/e"
check "a target with rows: refused, the table named" eq "$?:$(cat "$W/o" "$W/e")" \
    "1:filestorctl: db copy: the target is not empty: table tenants has $TENANTS row(s); db copy fills a new, migrated database; nothing was copied"
check "a target with rows: untouched" eq "$(pg "SELECT count(*) FROM tenants")" "$TENANTS"
# The identity sequence went past the ids copied. (The same condition
# again: the reader's reach below stays shared/.)
NEXT=$(pctl permission add shared-reader system_files read --tenant "$TID" --condition "$COND")
check "a new permission after the copy: the next id" eq "$NEXT" "$(($(lite "SELECT max(id) FROM permissions") + 1))"

# --- the copy serves
BASE2=
start_server2 "FILESTOR_DB=$PGURI" METRICS=0
if [ -z "${BASE2:-}" ]; then
	fail "a server on the copy"
	return 0
fi
pass "a server on the copy"
req GET "$BASE2/api/storage?prefix=shared/" "${A[@]}"
expect_status 200 "on the copy: list with the copied key"
check "on the copy: the file's metadata" eq "$(jqb '.items[] | [.key, .sha256, .folderId, .ownerId] | join(" ")')" \
    "shared/a.txt $(sha "$W/a") $FID $UA"
req GET "$BASE2/api/storage/private/b.bin" "${A[@]}"
expect_status 200 "on the copy: GET private/b.bin with the copied key"
check "on the copy: its bytes" cmp -s "$TEST_TMP/body" "$W/b"
check "on the copy: its ETag" eq "$(hdr ETag)" "\"$(sha "$W/b")\""
req GET "$BASE2/api/storage/shared/a.txt" "${R[@]}"
expect_status 200 "on the copy: the reader reads shared/ (the copied condition)"
req GET "$BASE2/api/storage/private/b.bin" "${R[@]}"
expect_status 404 "on the copy: the reader does not read private/"
req GET "$BASE2/api/auth/me" -b "$W/jar"
expect_status 200 "on the copy: the copied session"
check "on the copy: the session's user" eq "$(jqb .user.id):$(jqb .via)" "$UA:session"
req PUT "$BASE2/api/storage/after.txt" "${A[@]}" --data-binary 'written to PostgreSQL'
expect_status 201 "on the copy: an upload"
check "on the copy: its row in PostgreSQL, not in SQLite" eq \
    "$(pg "SELECT count(*) FROM files WHERE key = 'tenants/$TID/after.txt'"):$(lite "SELECT count(*) FROM files WHERE key = 'tenants/$TID/after.txt'")" "1:0"

t23_cleanup
trap - EXIT INT TERM
check "the private PostgreSQL is stopped" test ! -e "$PG_TEST_DIR/data/postmaster.pid"
