# Metrics and access log overhead (issue 19): a 4 KiB authenticated GET
# with the counters on (the default) against the same GET on a second
# server with METRICS=0, on the same state, measured alternately in the
# same run (bench_wrk_pair). Target: under 3 % (ratio >= 0.97). The
# access log (ACCESS_LOG) is reported the same way.
set -uo pipefail
. ./lib.sh

# second_start NAME VAR=VALUE...: a second lighttpd and its workers on
# the same state dir with other settings; sets SECOND_BASE. Its run dir
# (and so its FILESTOR_INSTANCE) is its own, so neither start reaps the
# other.
SECONDS_STARTED=()
second_start() {
	local name=$1 port dir
	shift
	port=$(serve_free_port) || return 1
	dir=$BENCH_TMP/run-$name
	(
		for kv in "$@"; do export "${kv?}"; done
		export FILESTOR_RUN_DIR=$dir FILESTOR_LOG=$dir/workers.log
		unset FILESTOR_SOCK_DIR
		serve_env "$BENCH_BUILD" "$BENCH_TMP/state" "$port" || exit 1
		echo "$FILESTOR_SOCK_DIR" >"$dir.sock"
		serve_start || exit 1
		echo "$SERVE_PID" >"$dir.pid"
	) || return 1
	SECONDS_STARTED+=("$dir")
	SECOND_BASE="http://127.0.0.1:$port"
}
second_stop_all() {
	local dir sock
	for dir in "${SECONDS_STARTED[@]}"; do
		[ -f "$dir.pid" ] && kill "$(cat "$dir.pid")" 2>/dev/null
		if [ -s "$dir.sock" ]; then
			sock=$(cat "$dir.sock")
			FILESTOR_SOCK_DIR=$sock "$BENCH_TOP/spawn-fcgi/stop"
			case $sock in */filestor-*/sock) rm -rf "$(dirname "$sock")" ;; esac
		fi
	done
	SECONDS_STARTED=()
}
trap 'second_stop_all; bench_stop' EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
A="Authorization: Bearer $KEY"

report "what" "value" "baseline" "ratio" "target"
head -c 4096 /dev/urandom >"$STATIC_DIR/4k.bin"
bench_code '20[01]' -H "$A" -T "$STATIC_DIR/4k.bin" "$BASE/api/storage/bench/4k.bin" || exit 1
url=/api/storage/bench/4k.bin

second_start off METRICS=0 || { echo "bench: METRICS=0 server did not start" >&2; exit 1; }
OFF=$SECOND_BASE
read -r on off < <(bench_wrk_pair "$BASE$url" "$A" "$OFF$url" "$A")
report "4 KiB GET rps, metrics on vs METRICS=0" "$on" "$off" "$(ratio "$on" "$off")" ">= 0.97"

second_start log ACCESS_LOG="$BENCH_TMP/access.log" || { echo "bench: ACCESS_LOG server did not start" >&2; exit 1; }
LOG=$SECOND_BASE
read -r logged plain < <(bench_wrk_pair "$LOG$url" "$A" "$BASE$url" "$A")
report "4 KiB GET rps, ACCESS_LOG on vs off" "$logged" "$plain" "$(ratio "$logged" "$plain")" "report"
# The lines are really written: one per answer.
lines=$(wc -l <"$BENCH_TMP/access.log")
report "access log lines written (one per request)" "$lines" "" "" "report"
