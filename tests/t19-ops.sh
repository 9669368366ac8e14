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

# --- the man pages: lint, and every command and option of the code
# man_covers PAGE SOURCE: prints what of SOURCE's command table and
# option strings PAGE does not name (".It Cm NOUN [VERB]", "Fl -opt").
man_covers() {
	local page=$1 src=$2 cmd opt
	if [ "$src" = tools/filestorctl.c ]; then
		sed -n '/^static const struct cmd cmds\[\] = {/,/^};/p' "$FILESTOR_TOP/$src" |
		    sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", \(NULL\|"\([a-z0-9-]*\)"\).*/\1 \3/p'
	else
		sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)",[[:space:]]*cmd_.*/\1/p' "$FILESTOR_TOP/$src"
	fi | while read -r cmd; do
		grep -qE "^\.It Cm ${cmd}( |\$)" "$page" || echo "command: $cmd"
	done
	for opt in $(grep -o '"--[a-z-]*"' "$FILESTOR_TOP/$src" | tr -d '"' | sort -u); do
		grep -qF "Fl $(printf '%s' "${opt#-}" | sed 's/-/\\-/g')" "$page" || echo "option: $opt"
	done
}
if [ "${STORE:-local}" = local ]; then
	for m in man/filestorctl.8 man/filestor-agent.1; do
		check "$m: mandoc -Tlint" eq "$(mandoc -Tlint -W warning "$FILESTOR_TOP/$m" 2>&1)" ""
	done
	check "filestorctl(8) names every command and option of tools/filestorctl.c" eq \
	    "$(man_covers "$FILESTOR_TOP/man/filestorctl.8" tools/filestorctl.c)" ""
	check "filestor-agent(1) names every command and option of agent/main.c" eq \
	    "$(man_covers "$FILESTOR_TOP/man/filestor-agent.1" agent/main.c)" ""
	# The check itself: a page without a command, or an option, is caught.
	grep -v '^\.It Cm verify' "$FILESTOR_TOP/man/filestorctl.8" >"$W/short.8"
	check "man check: a missing command is caught" eq "$(man_covers "$W/short.8" tools/filestorctl.c)" "command: verify"
	sed 's/Fl \\-threads/Fl \\-thread/' "$FILESTOR_TOP/man/filestor-agent.1" >"$W/short.1"
	check "man check: a missing option is caught" eq "$(man_covers "$W/short.1" agent/main.c)" "option: --threads"
	check "man check: it reads the command tables" eq \
	    "$(grep -c '^\.It Cm' "$FILESTOR_TOP/man/filestorctl.8"):$(grep -c '^\.It Cm' "$FILESTOR_TOP/man/filestor-agent.1")" "19:4"
fi

# --- the systemd units: installed, verified, and their commands run
# unit_get FILE KEY: the value of the last KEY= line.
unit_get() { sed -n "s/^$2=//p" "$1" | tail -n1; }
if [ "${STORE:-local}" = local ] && [ "${SERVER:-lighttpd}" = lighttpd ]; then
	PFX=$W/prefix
	SD=$PFX/lib/systemd/system
	make -s --no-print-directory -C "$FILESTOR_TOP" BUILD="$FILESTOR_BUILD" \
	    PREFIX="$PFX" install >"$W/install.out" 2>&1
	check "make install into a temporary prefix" eq "$?" 0
	for u in filestor.target filestor-pool@.service filestor-lighttpd.service \
	    filestor-relay.service filestor-gc.service filestor-gc.timer; do
		check "installed: $u" test -f "$SD/$u"
	done
	check "installed: the man pages" test -f "$PFX/share/man/man8/filestorctl.8" -a \
	    -f "$PFX/share/man/man1/filestor-agent.1"
	check "the target wants a pool per program" eq \
	    "$(unit_get "$SD/filestor.target" Wants | tr ' ' '\n' | sed 's/filestor-pool@\(.*\)\.service/\1/' | sort | tr '\n' ' ')" \
	    "$(ls "$FILESTOR_BUILD/cgi-bin" | grep -v '\.o$' | sort | tr '\n' ' ')"
	# Each unit is verified as systemd would load it: the ExecStart
	# binaries are the installed ones, Documentation= the installed pages.
	for u in filestor.target filestor-pool@get.service filestor-lighttpd.service \
	    filestor-relay.service filestor-gc.service filestor-gc.timer; do
		check "systemd-analyze verify: $u" eq \
		    "$(cd "$SD" && MANPATH=$PFX/share/man systemd-analyze verify "$u" 2>&1)" ""
	done
	sed 's/^ExecStart=.*/ExecStart=\/nonexistent\/filestor-pool/' "$SD/filestor-pool@.service" >"$W/bad@.service"
	check "systemd-analyze verify: a unit with a missing binary fails" neq \
	    "$(cd "$W" && MANPATH=$PFX/share/man systemd-analyze verify bad@get.service 2>&1)" ""
	for u in filestor-pool@.service filestor-lighttpd.service filestor-relay.service \
	    filestor-gc.service; do
		for k in "User" "StateDirectory" "EnvironmentFile" "ProtectSystem" "PrivateTmp" \
		    "NoNewPrivileges" "RestrictAddressFamilies" "SystemCallFilter"; do
			[ -n "$(unit_get "$SD/$u" "$k")" ] || echo "$u: no $k="
		done
	done >"$W/hard"
	check "every service: User=, StateDirectory=, EnvironmentFile=, the hardening" eq "$(cat "$W/hard")" \
	    "filestor-lighttpd.service: no StateDirectory="
	check "the pool, lighttpd and the relay: RuntimeDirectory= and Restart=on-failure" eq \
	    "$(unit_get "$SD/filestor-pool@.service" RuntimeDirectory):$(unit_get "$SD/filestor-pool@.service" Restart):$(unit_get "$SD/filestor-lighttpd.service" Restart):$(unit_get "$SD/filestor-relay.service" RuntimeDirectory):$(unit_get "$SD/filestor-relay.service" Restart)" \
	    "filestor:on-failure:on-failure:filestor:on-failure"
	check "the settings file of the units" eq "$(unit_get "$SD/filestor-pool@.service" EnvironmentFile)" /etc/filestor/filestor.env
	check "unprivileged users" eq "$(unit_get "$SD/filestor-pool@.service" User):$(unit_get "$SD/filestor-lighttpd.service" User)" \
	    "filestor:www-data"

	# The commands as written, with the runtime directories moved into
	# the test's: the auth pool (one worker, its log on stderr as under
	# systemd's journal), then lighttpd in front of it.
	SK=$W/sk
	RW=$W/rw
	mkdir -p "$SK" "$RW/www"
	POOL_CMD=$(unit_get "$SD/filestor-pool@.service" ExecStart | sed -e 's/%i/auth/g' \
	    -e 's/${FILESTOR_WORKERS}/1/' -e "s#/run/filestor/#$SK/#")
	# shellcheck disable=SC2086
	$POOL_CMD 2>"$W/pool.err" &
	UPOOL=$!
	check "the pool unit's command: the socket" wait_for 10 test -S "$SK/auth.sock"
	check "the pool unit's command: its log on stderr" wait_for 5 grep -q 'auth: 1 workers started' "$W/pool.err"
	LENV=()
	for kv in $(sed -n 's/^Environment=//p' "$SD/filestor-lighttpd.service"); do
		LENV+=("$kv")
	done
	UPORT=$(serve_free_port)
	LENV+=("PORT=$UPORT" "FILESTOR_SOCK_DIR=$SK" "FILESTOR_RUN_DIR=$RW"
	    "FILESTOR_DATA_DIR=$FILESTOR_DATA_DIR" "FILESTOR_CACHE_DIR=$FILESTOR_CACHE_DIR")
	L_PRE=$(unit_get "$SD/filestor-lighttpd.service" ExecStartPre)
	L_CMD=$(unit_get "$SD/filestor-lighttpd.service" ExecStart)
	# shellcheck disable=SC2086
	env "${LENV[@]}" $L_PRE >"$W/lighttpd-tt.out" 2>&1
	check "the lighttpd unit's ExecStartPre: the config checks" eq "$?" 0
	# shellcheck disable=SC2086
	env "${LENV[@]}" $L_CMD 2>"$W/lighttpd.err" &
	ULIGHT=$!
	check "the lighttpd unit's command: it listens" eval 'PORT=$UPORT serve_wait_port $ULIGHT'
	req GET "http://127.0.0.1:$UPORT/api/auth/me"
	expect_error 401 UNAUTHORIZED "through both units' commands: auth answers"
	kill "$ULIGHT" 2>/dev/null
	wait "$ULIGHT" 2>/dev/null
	kill "$UPOOL" 2>/dev/null
	wait "$UPOOL"
	check "the pool stops cleanly on SIGTERM (no restart by on-failure)" eq "$?" 0
	check "the pool's socket is gone" test ! -e "$SK/auth.sock"
fi

# --- on PostgreSQL the database's backup is pg_dump's: filestorctl
# backup refuses it, says so, and leaves no copy. (The backups below are
# of the second server's own SQLite database, on either suite.)
if is_pg; then
	"$FILESTORCTL" backup "$W/pgbackup" >"$W/pgbk.out" 2>"$W/pgbk.err"
	check "backup on PostgreSQL: exit 1, pointing to pg_dump" has \
	    "$?:$(cat "$W/pgbk.err")" "1:filestorctl: backup: the database is PostgreSQL: back it up with pg_dump"
	check "backup on PostgreSQL: no copy, no manifest" eq \
	    "$(cat "$W/pgbk.out"; ls -A "$W/pgbackup" 2>/dev/null)" ""
fi

# --- backups: a second server with its own state (and, on S3, bucket)
# (under lighttpd only: the restore stops and starts it as §5 says)
[ "${SERVER:-lighttpd}" = lighttpd ] || return 0
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
		aws2 s3 sync --only-show-errors "s3://filestor-t19/tenants/" "$BK/files/tenants/"
	else
		rsync -a --exclude=/.tmp "$W/state/files/" "$BK/files/"
	fi
}
objects_restore() {
	if [ "${STORE:-local}" = s3 ]; then
		# (not sync: it skips an object of the same size that is newer)
		aws2 s3 rm --recursive --only-show-errors "s3://filestor-t19/tenants/"
		aws2 s3 cp --recursive --only-show-errors "$BK/files/tenants/" "s3://filestor-t19/tenants/"
	else
		# (--checksum: an object changed in place within the second
		# its backup was taken, at the same size, looks the same to
		# rsync's size-and-time test and was not put back.)
		rsync -a --checksum --delete --exclude=/.tmp "$BK/files/" "$W/state/files/"
	fi
}
objects_backup
check "backup: the objects copied" cmp -s "$BK/files/$P2/b.bin" "$W/b"

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
