# Running it for real (issue 19, parts 1, 4 and 5): the systemd units of
# the server side, the man pages, and backups.
#
# - STORE=local, every server: the man pages pass `mandoc -Tlint`, and
#   name every command of filestorctl's and filestor-agent's command
#   tables (so a page cannot fall behind the code).
# - STORE=local, lighttpd: `make install` into a temporary DESTDIR, then
#   `systemd-analyze verify` on every unit it installed (their ExecStart
#   binaries are the installed ones), and the pool unit's ExecStart run
#   as written, answering through the suite's lighttpd.
# - lighttpd, both stores: `filestorctl backup` and `verify`, and a
#   restore end to end (docs/operations.md §5) on a second server with a
#   database and objects of its own (the suite's are shared with the
#   other files, whose tests leave orphans on purpose).

W=$TEST_TMP/w
mkdir -p "$W"
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# --- backups: a second server with its own state (and, on S3, bucket)
B2=("FILESTOR_DB=$W/state/filestor.db" "FILESTOR_DATA_DIR=$W/state/files"
    "FILESTOR_CACHE_DIR=$W/state/cache")
if [ "${STORE:-local}" = s3 ]; then
	B2+=("S3_BUCKET=filestor-t19")
	s3_curl -o /dev/null -X PUT "$S3_ENDPOINT/filestor-t19"
fi
mkdir -p "$W/state"
# ctl2 ARGS...: filestorctl on the second server's state.
ctl2() { env "${B2[@]}" "$FILESTORCTL" "$@"; }
start_server2 "${B2[@]}"
check "backups: a server with its own state" test -n "${BASE2:-}"
T2=$(ctl2 tenant create backups)
U2=$(printf 'pw-%s\n' "$RANDOM$RANDOM" | ctl2 user create b@example.com --tenant "$T2" --role admin --password-stdin)
K2=$(ctl2 apikey create --tenant "$T2" --user "$U2" 2>/dev/null)
A2=(-H "Authorization: Bearer $K2")
P2=tenants/$T2
printf 'alpha\n' >"$W/a"
head -c 200000 /dev/urandom >"$W/b"
printf 'delta, nested\n' >"$W/d"
for f in a:a.txt b:b.bin d:c/d.txt; do
	req PUT "$BASE2/api/storage/${f#*:}" "${A2[@]}" --data-binary @"$W/${f%%:*}"
	expect_status 201 "backups: upload ${f#*:}"
done

ctl2 verify >"$W/v0" 2>"$W/v0.err"
check "verify on a sound store: exit 0" eq "$?" 0
check "verify on a sound store: the counts" eq "$(tail -n1 "$W/v0")" \
    "verify: 3 rows, 3 ok; missing 0, wrong size 0, wrong sha256 0, unreadable 0; objects without a row 0"

# The backup, while the server runs (docs/operations.md §5).
BK=$W/backup/$(date +%F)
mkdir -p "$W/backup"
ctl2 backup "$BK" >"$W/bk.out" 2>"$W/bk.err"
check "backup: exit 0" eq "$?" 0
check "backup: one line on stdout names the copy" has "$(cat "$W/bk.out")" "$BK/filestor.db"
check "backup: the directory is 0700" eq "$(stat -c %a "$BK")" 700
check "backup: the copy is 0600 (it holds key hashes)" eq "$(stat -c %a "$BK/filestor.db")" 600
M=$BK/manifest.json
check "manifest: the format" eq "$(jq -r .format "$M")" filestor-backup/1
check "manifest: the schema version is the last migration" eq \
    "$(jq -r .schemaVersion "$M")" "$(ls "$FILESTOR_TOP"/sql/*.sql | tail -n1 | xargs basename | sed 's/^0*\([0-9]*\)-.*/\1/')"
check "manifest: the sha256 of the copy" eq "$(jq -r .database.sha256 "$M")" "$(sha "$BK/filestor.db")"
check "manifest: its size" eq "$(jq -r .database.bytes "$M")" "$(stat -c %s "$BK/filestor.db")"
check "manifest: the files rows" eq "$(jq -r .rows.files "$M")" 3
check "manifest: the tenants rows" eq "$(jq -r .rows.tenants "$M")" 1
check "manifest: a time" has "$(jq -r .createdAt "$M")" "$(date -u +%Y-%m-%dT)"
if [ "${STORE:-local}" = s3 ]; then
	check "manifest: the store is the bucket" eq "$(jq -r '.store.kind + " " + .store.bucket' "$M")" "s3 filestor-t19"
else
	check "manifest: the store is the disk" eq "$(jq -r '.store.kind + " " + .store.dataDir' "$M")" "local $W/state/files"
fi
check "backup: the copy is a sound, self-contained database" eq \
    "$(sqlite3 "$BK/filestor.db" 'PRAGMA integrity_check; PRAGMA journal_mode')" "ok
delete"
ctl2 backup "$BK" >/dev/null 2>"$W/bk2.err"
check "backup into a directory with a backup: refused" eq "$?:$(cat "$W/bk2.err")" \
    "1:filestorctl: backup: $BK already holds a backup (filestor.db): give a new directory"
ctl2 backup >/dev/null 2>"$W/bk3.err"
check "backup without DIR: the synopsis" eq "$?:$(cat "$W/bk3.err")" "1:usage: filestorctl backup DIR"

# The objects, after the database (docs/operations.md §5): rsync of the
# data dir, or `aws s3 sync` of the bucket's tenants/.
aws2() {
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY \
	    AWS_DEFAULT_REGION=${S3_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true \
	    aws --endpoint-url "$S3_ENDPOINT" "$@"
}
objects_backup() {
	if [ "${STORE:-local}" = s3 ]; then
		aws2 s3 sync --only-show-errors "s3://filestor-t19/tenants/" "$BK/objects/tenants/"
	else
		rsync -a --exclude=/.tmp "$W/state/files/" "$BK/objects/"
	fi
}
objects_restore() {
	if [ "${STORE:-local}" = s3 ]; then
		aws2 s3 sync --only-show-errors --delete "$BK/objects/tenants/" "s3://filestor-t19/tenants/"
	else
		rsync -a --delete --exclude=/.tmp "$BK/objects/" "$W/state/files/"
	fi
}
objects_backup
check "backup: the objects copied" cmp -s "$BK/objects/$P2/b.bin" "$W/b"

# Wreck it: through the API (consistent changes), then behind its back.
req DELETE "$BASE2/api/storage/a.txt" "${A2[@]}"
expect_status 204 "wreck: delete a.txt"
head -c 1000 /dev/urandom >"$W/b2"
req PUT "$BASE2/api/storage/b.bin" "${A2[@]}" --data-binary @"$W/b2"
expect_status 200 "wreck: overwrite b.bin"
req PUT "$BASE2/api/storage/e.txt" "${A2[@]}" --data-binary 'made after the backup'
expect_status 201 "wreck: a new e.txt"
ctl2 verify >"$W/v1" 2>&1
check "verify after consistent changes: clean" eq "$?:$(tail -n1 "$W/v1")" \
    "0:verify: 3 rows, 3 ok; missing 0, wrong size 0, wrong sha256 0, unreadable 0; objects without a row 0"
# obj2 CMD...: the helpers of tests/lib.sh on the second server's store.
obj2() { FILESTOR_DATA_DIR=$W/state/files S3_BUCKET=filestor-t19 "$@"; }
printf 'DELTA, nested\n' >"$W/d-bad"
obj2 obj_put "$P2/c/d.txt" "$W/d-bad"
printf 'made after the backup, and longer' >"$W/e-bad"
obj2 obj_put "$P2/e.txt" "$W/e-bad"
printf 'nobody names me' >"$W/stray"
if [ "${STORE:-local}" = s3 ]; then
	s3_curl -o /dev/null -X DELETE "$(obj2 s3_url "$P2/b.bin")"
else
	rm -f "$W/state/files/$P2/b.bin"
fi
obj2 obj_put "$P2/stray.txt" "$W/stray" ||
    { mkdir -p "$W/state/files/$P2" && cp "$W/stray" "$W/state/files/$P2/stray.txt"; }
ctl2 verify >"$W/v2" 2>"$W/v2.err"
check "verify on a wrecked store: exit 1" eq "$?" 1
check "verify: a missing object" grep -qx "missing	$P2/b.bin	the row says 1000 bytes; no object" "$W/v2"
check "verify: a wrong size" grep -qx "size	$P2/e.txt	the row says 21 bytes, the object has 33" "$W/v2"
check "verify: a wrong sha256" grep -qx "sha256	$P2/c/d.txt	the row says $(sha "$W/d"), the object is $(sha "$W/d-bad")" "$W/v2"
check "verify: an object without a row" grep -qx "orphan	$P2/stray.txt	no row names this object" "$W/v2"
check "verify: the counts" eq "$(tail -n1 "$W/v2")" \
    "verify: 3 rows, 0 ok; missing 1, wrong size 1, wrong sha256 1, unreadable 0; objects without a row 1"
check "verify: stderr says how many problems" eq "$(cat "$W/v2.err")" "filestorctl: verify: 4 problem(s)"

# The restore of docs/operations.md §5: stop, the database back (without
# the old -wal and -shm), the objects back, to the service user, start.
stop_server2
rm -f "$W/state/filestor.db-wal" "$W/state/filestor.db-shm"
install -m 0640 "$BK/filestor.db" "$W/state/filestor.db"
objects_restore
[ -n "${FILESTOR_USER:-}" ] && chown -R "$FILESTOR_USER:" "$W/state"
start_server2 "${B2[@]}"
ctl2 verify >"$W/v3" 2>&1
check "verify after the restore: clean" eq "$?:$(tail -n1 "$W/v3")" \
    "0:verify: 3 rows, 3 ok; missing 0, wrong size 0, wrong sha256 0, unreadable 0; objects without a row 0"
for f in a:a.txt b:b.bin d:c/d.txt; do
	req GET "$BASE2/api/storage/${f#*:}" "${A2[@]}"
	expect_status 200 "restore: ${f#*:} reads back"
	check "restore: ${f#*:} has its bytes" cmp -s "$TEST_TMP/body" "$W/${f%%:*}"
done
req GET "$BASE2/api/storage/e.txt" "${A2[@]}"
expect_status 404 "restore: e.txt, made after the backup, is gone"
req PUT "$BASE2/api/storage/after.txt" "${A2[@]}" --data-binary 'after'
expect_status 201 "restore: uploads work (the database is writable)"
stop_server2
