# Metrics and access log overhead (issue 19): a 4 KiB authenticated GET
# with the counters on (the default) against the same GET on a second
# server with METRICS=0, on the same state, measured alternately in the
# same run (bench_wrk_pair). Target: under 3 % (ratio >= 0.97). The
# access log (ACCESS_LOG) is reported the same way.
set -uo pipefail
. ./lib.sh

trap 'stop_server2 2>/dev/null; bench_stop' EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
# The second servers: tests/lib.sh's start_server2 (the same state,
# other settings, a run dir and port of their own), one at a time.
TEST_TMP=$BENCH_TMP
. "$BENCH_TOP/tests/lib.sh"
A="Authorization: Bearer $KEY"

report "what" "value" "baseline" "ratio" "target"
head -c 4096 /dev/urandom >"$STATIC_DIR/4k.bin"
bench_code '20[01]' -H "$A" -T "$STATIC_DIR/4k.bin" "$BASE/api/storage/bench/4k.bin" || exit 1
url=/api/storage/bench/4k.bin

start_server2 METRICS=0 || { echo "bench: METRICS=0 server did not start" >&2; exit 1; }
read -r on off < <(bench_wrk_pair "$BASE$url" "$A" "$BASE2$url" "$A")
report "4 KiB GET rps, metrics on vs METRICS=0" "$on" "$off" "$(ratio "$on" "$off")" ">= 0.97"
stop_server2

start_server2 ACCESS_LOG="$FILESTOR_STATE/access.log" || { echo "bench: ACCESS_LOG server did not start" >&2; exit 1; }
read -r logged plain < <(bench_wrk_pair "$BASE2$url" "$A" "$BASE$url" "$A")
report "4 KiB GET rps, ACCESS_LOG on vs off" "$logged" "$plain" "$(ratio "$logged" "$plain")" "report"
# The lines are really written: one per answer.
lines=$(wc -l <"$FILESTOR_STATE/access.log")
report "access log lines written (one per request)" "$lines" "" "" "report"
