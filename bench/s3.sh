# S3 adapter benchmarks (issue 7): Filestor in front of s3rver against
# curl talking to the same s3rver directly (curl --aws-sigv4), same run,
# same bytes; the median of BENCH_ROUNDS (5) each way, interleaved.
set -uo pipefail
. ./lib.sh
. "$BENCH_TOP/tests/s3.sh"
S3_MB=${BENCH_S3_MB:-100}
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

# MiB/s of one transfer: CMD... runs it (output to /dev/null), only
# when it answered a 2xx.
rate() { bench_rate $((S3_MB * 1048576)) "$@"; }
W=(-o /dev/null -w '%{http_code}')
put_fs() { rate curl -s "${W[@]}" -H "$A" -T "$S3_DIR/big.bin" "$BASE/api/storage/bench/big.bin"; }
put_direct() { rate s3_curl "${W[@]}" -T "$S3_DIR/big.bin" "$direct"; }
get_fs() { rate curl -s "${W[@]}" -H "$A" "$BASE/api/storage/bench/big.bin"; }
get_direct() { rate s3_curl "${W[@]}" "$direct"; }

read -r fs dr < <(bench_pair put_fs put_direct)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$A" "$BASE/api/storage/bench/big.bin")
[ "$code" = 200 ] || echo "bench: GET after PUT answered $code" >&2
report "$S3_MB MiB PUT MiB/s through Filestor vs straight to s3rver" "$fs" "$dr" "$(ratio "$fs" "$dr")" ">= 0.8"

read -r fs dr < <(bench_pair get_fs get_direct)
report "$S3_MB MiB GET MiB/s through Filestor vs straight from s3rver" "$fs" "$dr" "$(ratio "$fs" "$dr")" ">= 0.8"
