# S3 adapter benchmarks (issue 7): Filestor in front of s3rver against
# curl talking to the same s3rver directly (curl --aws-sigv4), same run,
# same bytes. Best of BENCH_S3_RUNS (3) each way.
set -uo pipefail
. ./lib.sh
. "$BENCH_TOP/tests/s3.sh"
S3_MB=${BENCH_S3_MB:-100}
RUNS=${BENCH_S3_RUNS:-3}
bench_s3_stop() { bench_stop; s3_stop; rm -rf "${S3_DIR:-/nonexistent}"; }
trap bench_s3_stop EXIT

export FILESTOR_S3RVER=$BENCH_BUILD/s3rver/node_modules/.bin/s3rver
S3_DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-bench-s3.XXXXXX")
s3_install "$BENCH_BUILD" || exit 1
s3_start "$S3_DIR/data" "$(serve_free_port)" || exit 1
bench_start || { echo "bench: server did not start" >&2; exit 1; }
A="Authorization: Bearer $KEY"

report "what" "value" "baseline" "ratio" "target"
head -c $((S3_MB * 1048576)) /dev/urandom >"$S3_DIR/big.bin"
direct="$S3_ENDPOINT/$S3_BUCKET/bench/direct.bin"

# timed CMD...: nanoseconds the command took.
timed() { local t0; t0=$(now_ns); "$@" >/dev/null; echo $(( $(now_ns) - t0 )); }
best() { local b=0 t i; for i in $(seq 1 "$RUNS"); do t=$(timed "$@"); { [ "$b" -eq 0 ] || [ "$t" -lt "$b" ]; } && b=$t; done; echo "$b"; }

put_direct=$(best s3_curl -o /dev/null -T "$S3_DIR/big.bin" "$direct")
put_fs=$(best curl -s -o /dev/null -H "$A" -T "$S3_DIR/big.bin" "$BASE/api/storage/bench/big.bin")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$A" "$BASE/api/storage/bench/big.bin")
[ "$code" = 200 ] || echo "bench: GET after PUT answered $code" >&2
fs=$(mbps $((S3_MB * 1048576)) "$put_fs")
dr=$(mbps $((S3_MB * 1048576)) "$put_direct")
report "$S3_MB MiB PUT MiB/s through Filestor vs straight to s3rver" "$fs" "$dr" "$(ratio "$fs" "$dr")" ">= 0.8"

get_direct=$(best s3_curl -o /dev/null "$direct")
get_fs=$(best curl -s -o /dev/null -H "$A" "$BASE/api/storage/bench/big.bin")
fs=$(mbps $((S3_MB * 1048576)) "$get_fs")
dr=$(mbps $((S3_MB * 1048576)) "$get_direct")
report "$S3_MB MiB GET MiB/s through Filestor vs straight from s3rver" "$fs" "$dr" "$(ratio "$fs" "$dr")" ">= 0.8"
