# PostgreSQL benchmarks (issue 18): the metadata in PostgreSQL against
# the same on SQLite, and two front ends of one database against one.
# Ratios against baselines measured in the same run on the same machine.
#
# One private PostgreSQL (tests/pg.sh) and three instances of Filestor:
#   P  on PostgreSQL, local store
#   S  on SQLite, local store
#   B  a second front end of P: the same database, data dir and
#      AUTH_SECRET, its own lighttpd, workers and relay (as tests/run's
#      host_b_start)
#   W  as B, with twice the workers per program (FILESTOR_WORKERS)
# P and S run side by side and the rounds alternate between them
# (bench_rounds), so that a slow spell of a shared machine hits both
# alike; both hold the same million rows. Everything is stopped on exit
# and on Ctrl-C.
#
#   BENCH_ROWS (1000000)	rows in files, for the bench tenant
#   BENCH_DIRS (500)		prefixes they are spread over
#   BENCH_LIST_N (200)		list requests timed per engine
set -uo pipefail
. ./lib.sh
# shellcheck source=tests/pg.sh
. "$BENCH_TOP/tests/pg.sh"

ROWS=${BENCH_ROWS:-1000000}
DIRS=${BENCH_DIRS:-500}
LIST_N=${BENCH_LIST_N:-200}
INSTANCES=""

# A measurement runs in the background (bg) and the script waits for it
# with wait, which a Ctrl-C interrupts at once (a trap waits for a
# foreground command to end; wrk ignores SIGINT). cleanup ends it first.
JOB=""
# kill_tree PID: PID and every process below it, the deepest first.
kill_tree() {
	local p
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$p"; done
	kill "$1" 2>/dev/null
}
# bg CMD...: CMD's output into $WORK/out (read it from there).
bg() {
	"$@" >"$WORK/out" &
	JOB=$!
	wait "$JOB"
	JOB=""
}

cleanup() {
	local i
	trap '' INT TERM
	[ -n "$JOB" ] && kill_tree "$JOB"
	JOB=""
	for i in $INSTANCES; do
		bench_use "$i" && bench_stop
	done
	INSTANCES=""
	pg_stop
	[ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
	PG_DIR="" WORK=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop NAME: bench_stop of instance NAME, now rather than on exit.
stop() {
	bench_use "$1" && bench_stop
	INSTANCES=$(tr ' ' '\n' <<<"$INSTANCES" | grep -vx "$1" | tr '\n' ' ')
}

# start NAME: bench_start (or, with BENCH_SERVE_ONLY=1, bench_serve), then
# bench_save NAME; cleanup stops it.
start() {
	local rc
	if [ "${BENCH_SERVE_ONLY:-0}" = 1 ]; then bench_serve; else bench_start; fi
	rc=$?
	# Whatever part of it started is stopped on exit.
	bench_save "$1"
	INSTANCES="$1 $INSTANCES"
	return $rc
}

PG_DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-pg.XXXXXX") || exit 1
# This script's files, whichever instance is current.
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-bench.XXXXXX") || exit 1
pg_start "$PG_DIR" || { echo "bench: PostgreSQL did not start" >&2; exit 1; }

BENCH_DB=$FILESTOR_PG_URI start P || { echo "bench: server on PostgreSQL did not start" >&2; exit 1; }
start S || { echo "bench: server on SQLite did not start" >&2; exit 1; }

report "what" "value" "baseline" "ratio" "target"

# --- the million rows, in both databases: keys
# tenants/<tid>/dNNN/fNNNNNNN, DIRS prefixes of ROWS/DIRS rows each.
bench_use P
pg_psql -q >/dev/null <<EOF || { echo "bench: filling PostgreSQL failed" >&2; exit 1; }
INSERT INTO files (key, tenant_id, size, content_type, sha256, owner_id,
    created_at, updated_at)
SELECT 'tenants/$TID/d' || lpad((i % $DIRS)::text, 3, '0') || '/f' ||
    lpad(i::text, 7, '0'), '$TID', 1, 'application/octet-stream', 'x',
    '$BENCH_UID', 0, 0
FROM generate_series(1, $ROWS) AS i;
VACUUM (ANALYZE) files;
EOF
bench_use S
sqlite3 "$FILESTOR_DB" >/dev/null <<EOF || { echo "bench: filling SQLite failed" >&2; exit 1; }
PRAGMA busy_timeout=10000;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $ROWS)
INSERT INTO files (key, tenant_id, size, content_type, sha256, owner_id,
    created_at, updated_at)
SELECT printf('tenants/%s/d%03d/f%07d', '$TID', i % $DIRS, i), '$TID', 1,
    'application/octet-stream', 'x', '$BENCH_UID', 0, 0 FROM c;
COMMIT;
ANALYZE;
EOF

# --- 1. list: the first page of 100 under a prefix of ROWS/DIRS rows
# list_ms: "p50 p95" of time_total (ms) over LIST_N sequential requests
# of the current instance, after 10 not timed; "- -" unless every answer
# was 200 with 100 items.
list_ms() {
	local i d=$WORK/list out n
	local url="$BASE/api/storage?prefix=d042/&limit=100"
	mkdir -p "$d" && rm -f "$d"/*.json
	for i in $(seq 1 10); do
		curl -s -o /dev/null -H "Authorization: Bearer $KEY" "$url"
	done
	out=$(for i in $(seq 1 "$LIST_N"); do
		curl -s -o "$d/$i.json" -H "Authorization: Bearer $KEY" \
		    -w '%{http_code} %{time_total}\n' "$url"
	done)
	n=$(cat "$d"/*.json 2>/dev/null | jq -s 'map(select((.items | length) == 100)) | length' 2>/dev/null)
	if [ "$(grep -c '^200 ' <<<"$out")" != "$LIST_N" ] || [ "${n:-0}" != "$LIST_N" ]; then
		bench_fail "list $url" "answers $(awk '{ print $1 }' <<<"$out" |
		    sort | uniq -c | tr -s ' \n' ' '), ${n:-no} with 100 items"
		echo "- -"
		return
	fi
	awk '{ print $2 * 1000 }' <<<"$out" | sort -g | awk '{ a[NR] = $1 }
	    END { i = int(NR * 0.95); if (i < NR * 0.95) i++
		  printf "%.2f %.2f\n", a[int((NR + 1) / 2)], a[i] }'
}
bench_use P
bg list_ms
read -r pg50 pg95 <"$WORK/out"
bench_use S
bg list_ms
read -r sq50 sq95 <"$WORK/out"
rk=$((ROWS / 1000))k
report "list p50 ms, $rk rows, page of 100: PostgreSQL vs SQLite" "$pg50" "$sq50" "$(ratio "$pg50" "$sq50")" "PG <= 5 ms"
report "list p95 ms, $rk rows, page of 100: PostgreSQL vs SQLite" "$pg95" "$sq95" "$(ratio "$pg95" "$sq95")" "report"

# --- 2. authenticated 4 KiB GET: PostgreSQL vs SQLite, rounds alternating
head -c 4096 /dev/urandom >"$WORK/4k.bin"
for i in P S; do
	bench_use "$i"
	bench_code '20[01]' -H "Authorization: Bearer $KEY" -T "$WORK/4k.bin" \
	    "$BASE/api/storage/bench/4k.bin"
done
bench_use P
P_URL=$BASE/api/storage/bench/4k.bin P_H="Authorization: Bearer $KEY"
bench_use S
S_URL=$BASE/api/storage/bench/4k.bin S_H="Authorization: Bearer $KEY"
bg bench_wrk_pair "$P_URL" "$P_H" "$S_URL" "$S_H"
read -r get_pg get_sq <"$WORK/out"
report "4 KiB authenticated GET rps: PostgreSQL vs SQLite" "$get_pg" "$get_sq" "$(ratio "$get_pg" "$get_sq")" ">= 0.7"
# S is done: its processes leave the two cores to the rest.
stop S

# --- 3. two front ends of one PostgreSQL vs one, the same total load
bench_use P
BENCH_DB=$FILESTOR_PG_URI BENCH_DATA_DIR=$FILESTOR_DATA_DIR \
BENCH_AUTH_SECRET=$AUTH_SECRET BENCH_SERVE_ONLY=1 start B ||
    { echo "bench: the second front end did not start" >&2; exit 1; }
B_URL=$BASE/api/storage/bench/4k.bin
# The same bytes from the other front end, with P's key.
bench_code 200 -H "$P_H" "$B_URL"
# split A_URL B_URL HEADER: requests per second of two wrk at once, each
# with half the threads and connections of bench_wrk, summed; nothing
# unless both succeeded.
split() {
	local a b
	bench_wrk_out -t1 -c8 -d"${BENCH_SECS}s" -H "$3" "$1" >"$WORK/wrk.a" &
	a=$!
	bench_wrk_out -t1 -c8 -d"${BENCH_SECS}s" -H "$3" "$2" >"$WORK/wrk.b" &
	b=$!
	wait "$a" || { wait "$b"; return 1; }
	wait "$b" || return 1
	awk '/^Requests\/sec/ { s += $2; n++ } END { if (n == 2) printf "%.2f\n", s }' \
	    "$WORK/wrk.a" "$WORK/wrk.b"
}
# Two front ends have twice the workers of one; on PostgreSQL a worker
# spends much of a request waiting for its statements' round trips, so
# also one front end with as many workers as the two (W).
bench_use P
FILESTOR_WORKERS=$((2 * ${FILESTOR_WORKERS:-2})) BENCH_DB=$FILESTOR_PG_URI \
BENCH_DATA_DIR=$FILESTOR_DATA_DIR BENCH_AUTH_SECRET=$AUTH_SECRET \
BENCH_SERVE_ONLY=1 start W ||
    { echo "bench: the front end with more workers did not start" >&2; exit 1; }
W_URL=$BASE/api/storage/bench/4k.bin
BENCH_SECS=${BENCH_SECS_ROUND:-2} bg bench_rounds \
    "split '$P_URL' '$B_URL' '$P_H'" "bench_wrk '$P_URL' '$P_H'" \
    "bench_wrk '$W_URL' '$P_H'"
read -r two one onew <"$WORK/out"
report "4 KiB GET rps on PostgreSQL: two front ends vs one" "$two" "$one" "$(ratio "$two" "$one")" "report (2 cores)"
report "the same vs one front end with twice the workers" "$two" "$onew" "$(ratio "$two" "$onew")" "report (2 cores)"
