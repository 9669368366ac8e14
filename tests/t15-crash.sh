# Crash-consistent publish and delete (docs/decisions.md, "Publish and
# delete"): a fault injected with strace at each syscall of the publish
# and delete paths of a worker (ENOSPC, EIO, SIGKILL). After each, the
# bytes GET serves are the ones the row describes; a request answered
# with an error leaves the previous version; and recovery (a restarted
# worker, filestorctl gc) leaves nothing pending, the object under its
# key, and no object without a row.
#
# Needs strace and the worker pool's pid files (lighttpd); under Apache,
# mod_fcgid spawns the workers and this file only checks the schema.

TID=$(mk_tenant crash)
UA=$(mk_user "$TID" admin)
KA=$(mk_key "$TID" "$UA")
A=(-H "Authorization: Bearer $KA")
P=tenants/$TID/crash

check "the files table has the pending column" eq \
    "$(tsql_columns files | grep -cx pending)" 1

if [ "${SERVER:-lighttpd}" != lighttpd ] || ! command -v strace >/dev/null; then
	return 0
fi

printf 'version one' >"$TEST_TMP/v1"
printf 'version two, a little longer' >"$TEST_TMP/v2"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
V1="$(sha "$TEST_TMP/v1") $(stat -c %s "$TEST_TMP/v1")"
V2="$(sha "$TEST_TMP/v2") $(stat -c %s "$TEST_TMP/v2")"
row() { tsql "SELECT sha256 || ' ' || size FROM files WHERE key = '$P/$1'"; }
pending() { tsql "SELECT COALESCE(pending, '') FROM files WHERE key = '$P/$1'"; }
# agree NAME: what GET serves is what the row says (404 without a row).
agree() {
	local code r got
	code=$(curl -s -o "$TEST_TMP/got" -w '%{http_code}' "${A[@]}" "$BASE2/api/storage/crash/$1")
	r=$(row "$1")
	if [ -z "$r" ]; then
		[ "$code" = 404 ] || { echo "    no row, GET $code" >&2; return 1; }
		return 0
	fi
	got="$(sha "$TEST_TMP/got") $(stat -c %s "$TEST_TMP/got")"
	if [ "$code" != 200 ] || [ "$got" != "$r" ]; then
		echo "    row '$r', GET $code '$got'" >&2
		return 1
	fi
}
# stored NAME: the object under its physical key is the row's, whole.
stored() { obj_get "$P/$1" "$TEST_TMP/obj" && eq "$(sha "$TEST_TMP/obj") $(stat -c %s "$TEST_TMP/obj")" "$(row "$1")"; }
# worker PROGRAM: the pid of its one worker, once it is alive.
worker() {
	local f p
	f=$(cat "$RUN2.sock")/$1.pid.workers
	for _ in $(seq 1 100); do
		p=$(head -n 1 "$f" 2>/dev/null)
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return 0; }
		sleep 0.05
	done
	return 1
}
# inject PROGRAM SPEC [PATH]: strace PROGRAM's worker with -e inject=SPEC
# (only the calls on PATH when given) until uninject; 1 if not attached.
inject() {
	local pid
	pid=$(worker "$1") || return 1
	# No checkpoint may run mid-request: it would shift the counts.
	is_pg || tsql 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null 2>&1
	strace -f -qq -p "$pid" -o "$TEST_TMP/strace.out" -e trace="${2%%:*}" \
	    -e inject="$2" ${3:+-P "$3"} 2>"$TEST_TMP/strace.err" &
	STRACE_PID=$!
	TRACEE=$pid
	for _ in $(seq 1 100); do
		[ "$(awk '/^TracerPid/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "$STRACE_PID" ] &&
		    return 0
		sleep 0.02
	done
	uninject
	return 1
}
uninject() {
	[ -n "${STRACE_PID:-}" ] || return 0
	kill "$STRACE_PID" 2>/dev/null
	wait "$STRACE_PID" 2>/dev/null
	STRACE_PID=
}
# dead PID: gone, or a zombie.
dead() { [ ! -d "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
# injected FAULT: strace failed a call, or the worker was killed.
injected() {
	if [ "$1" = SIGKILL ]; then
		wait_for 5 dead "$TRACEE"
	else
		grep -q INJECTED "$TEST_TMP/strace.out"
	fi
}
no_pending() { [ -z "$(pending "$1")" ]; }
one_of() { [ "$1" = "$2" ] || [ "$1" = "$3" ]; }
is5xx() { case $1 in 5??) return 0 ;; esac; return 1; }
spec() { [ "$3" = SIGKILL ] && echo "$1:signal=SIGKILL:when=$2" || echo "$1:error=$3:when=$2"; }

# arm NAME PROGRAM SYSCALL WHEN FAULT: store the first version under
# NAME, then inject the fault into PROGRAM's worker; 1 (failed) if not.
arm() {
	local path=""
	req PUT "$BASE2/api/storage/crash/$1" "${A[@]}" --data-binary @"$TEST_TMP/v1"
	[ "$STATUS" = 201 ] || { fail "$what: the first version stored ($STATUS)"; return 1; }
	[ "$3" = pwrite64 ] && path=$WAL
	inject "$2" "$(spec "$3" "$4" "$5")" "$path" ||
	    { fail "$what: strace attached"; return 1; }
}
# answered CODE WANT: the fault fired, and the answer is the one wanted.
answered() {
	check "$what: the fault was injected" injected "$err"
	case $2 in
	any) ;;
	5xx) check "$what: the client got an error ($1)" is5xx "$1" ;;
	*) check "$what: answered $2" eq "$1" "$2" ;;
	esac
}
# skip SYSCALL: 0 when this store and database have the case. The
# disk's calls, or (S3) sendto: each request to the bucket, in order.
# pwrite64 counts the writes to SQLite's WAL, which PostgreSQL does not
# have; there libpq's queries are sendto calls too, which would shift
# the count of the bucket's requests.
skip() {
	case $1 in
	pwrite64) is_pg ;;
	sendto) [ "$s3" = 0 ] || is_pg ;;
	*) [ "$s3" = 1 ] ;;
	esac
}

# fire PROGRAM METHOD: the case of the table's row (sc, when, err, want):
# store the first version under a new name (k), inject the fault into
# PROGRAM's worker, send METHOD (a PUT sends the second version), and
# check the answer. 1 when the case does not apply or could not run.
fire() {
	local body=()
	skip "$sc" && return 1
	n=$((n + 1))
	k=$1$n.bin
	what="$2: $err at $sc #$when"
	arm "$k" "$1" "$sc" "$when" "$err" || return 1
	[ "$2" = PUT ] && body=(--data-binary @"$TEST_TMP/v2")
	code=$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -X "$2" \
	    "${body[@]}" "$BASE2/api/storage/crash/$k")
	uninject
	answered "$code" "$want"
}

if ! start_server2 FILESTOR_WORKERS=1; then
	fail "a server with one worker per program started"
	return 0
fi
WAL=$FILESTOR_DB-wal
[ "${STORE:-local}" = s3 ] && s3=1 || s3=0

# --- PUT over an existing version. Columns: syscall, which calls of it
# fail (strace's when=), fault, the answer wanted ("5xx": the worker was
# killed, the web server answers), the version wanted after it. pwrite64
# counts the writes to the WAL only: the row's commit makes 4 (two pages,
# each a frame header and the page) or 5 (the WAL's header first, after a
# checkpoint), so 1 and 4+ fail it, and 6+ the commit that clears
# pending; fsync 1 is the temp file's, 2 that of .tmp, 3 the directory's
# after the rename. sendto (S3): 1 sends the temporary object's PUT, 2
# the copy that publishes it, 3 the DELETE of the temporary key; libcurl
# may retry a request whose reused connection fails, so ECONNRESET may
# land on either side of the row's commit (any).
n=0
while read -r sc when err want ver; do
	fire put PUT || continue
	case $ver in
	old) check "$what: the old version's row" eq "$(row "$k")" "$V1" ;;
	new) check "$what: the new version's row" eq "$(row "$k")" "$V2" ;;
	*) check "$what: one version's row" one_of "$(row "$k")" "$V1" "$V2" ;;
	esac
	check "$what: bytes and row agree" agree "$k"
	# A killed worker is replaced, and the new one recovers at start.
	[ "$err" = SIGKILL ] && check "$what: recovered at worker start" wait_for 10 no_pending "$k"
	"$FILESTORCTL" gc >/dev/null 2>&1
	check "$what: nothing pending after gc" no_pending "$k"
	check "$what: the object under its key is the row's" stored "$k"
	check "$what: bytes and row agree after gc" agree "$k"
done <<'CASES'
fsync 1 EIO 500 old
fsync 1 ENOSPC 507 old
fsync 1 SIGKILL 5xx old
fsync 2 EIO 500 old
fsync 2 ENOSPC 507 old
fsync 2 SIGKILL 5xx old
pwrite64 1 ENOSPC 507 old
pwrite64 1 EIO 500 old
pwrite64 1 SIGKILL 5xx old
pwrite64 4+ ENOSPC 507 old
pwrite64 4+ EIO 500 old
pwrite64 4+ SIGKILL 5xx old
renameat 1 EIO 200 new
renameat 1 ENOSPC 200 new
renameat 1 SIGKILL 5xx new
fsync 3 EIO 200 new
fsync 3 ENOSPC 200 new
fsync 3 SIGKILL 5xx new
pwrite64 6+ ENOSPC 200 new
pwrite64 6+ EIO 200 new
pwrite64 6+ SIGKILL 5xx new
sendto 1 SIGKILL 5xx old
sendto 2 SIGKILL 5xx new
sendto 3 SIGKILL 5xx new
sendto 1 ECONNRESET any any
sendto 2 ECONNRESET any any
sendto 3 ECONNRESET any any
CASES

# --- DELETE. 1-: the WAL writes of the row's removal; unlinkat 1 (disk)
# or sendto 1 (S3): the object's. A fault after the row's commit leaves
# the object for gc.
n=0
while read -r sc when err want ver; do
	fire delete DELETE || continue
	if [ "$ver" = old ]; then
		check "$what: the row stays" eq "$(row "$k")" "$V1"
		check "$what: the object stays" stored "$k"
	else
		check "$what: the row is gone" eq "$(row "$k")" ""
	fi
	check "$what: bytes and row agree" agree "$k"
	"$FILESTORCTL" gc >/dev/null 2>&1
	if [ "$ver" = old ]; then
		check "$what: gc keeps the object of a row" stored "$k"
	else
		check "$what: gc removed the object without a row" obj_absent "$P/$k"
	fi
done <<'CASES'
pwrite64 1 ENOSPC 507 old
pwrite64 1 EIO 500 old
pwrite64 1 SIGKILL 5xx old
pwrite64 4+ ENOSPC 507 old
unlinkat 1 EIO 204 gone
unlinkat 1 SIGKILL 5xx gone
sendto 1 ECONNRESET 204 gone
sendto 1 SIGKILL 5xx gone
CASES

check "no row left pending" eq "$(tsql "SELECT count(*) FROM files WHERE pending IS NOT NULL")" 0
# A worker killed before its row committed left its temp file; the next
# worker to start removes it once it is ORPHAN_GRACE_SECS (5) old.
tmp_empty() { [ "$(find "$FILESTOR_DATA_DIR/.tmp" -type f 2>/dev/null | wc -l)" = 0 ]; }
if [ "$s3" = 0 ]; then
	sleep 5
	kill -9 "$(worker put)"
	check "the temp files of killed uploads are swept at worker start" wait_for 10 tmp_empty
fi
stop_server2
