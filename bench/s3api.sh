# The S3 endpoint (issue 24) against the REST API it shares its code
# with, in the same run on the same lighttpd and disk:
#   - 4 KiB GetObject per second (a presigned URL, so that wrk can send
#     it: the full SigV4 check on every request) vs the REST GET with an
#     API key: >= 0.8;
#   - a 1 GiB (BENCH_S3_MB) "aws s3 cp" upload (awscli's defaults:
#     multipart, then Complete concatenates the parts) vs a REST PUT of
#     the same file with curl: >= 0.8;
#   - for scale, the same "aws s3 cp" against a do-nothing S3 endpoint
#     (bench/noop.c at /bench/s3: reads and drops every body) behind the
#     same lighttpd, in the same rounds: awscli's own cost on this
#     machine (it hashes every part to sign it, on the same two cores),
#     and so the fair ceiling for Filestor's figure.
set -uo pipefail
. ./lib.sh
trap bench_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
MB=${BENCH_S3_MB:-1024}
A="Authorization: Bearer $KEY"
UID_=$("$FILESTORCTL" user create s3bench@example.com --tenant "$TID" --role admin)
read -r AK SK < <("$FILESTORCTL" apikey create --s3 --tenant "$TID" --user "$UID_" 2>/dev/null)
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$BENCH_TMP/aws.config AWS_SHARED_CREDENTIALS_FILE=/dev/null
cat >"$AWS_CONFIG_FILE" <<'CONF'
[default]
s3 =
    addressing_style = path
    signature_version = s3v4
CONF
aws() { /usr/bin/aws --endpoint-url "${AWS_BASE:-$BASE/s3}" "$@"; }

report "what" "value" "baseline" "ratio" "target"

# --- 4 KiB GetObject (presigned) vs REST GET
head -c 4096 /dev/urandom >"$BENCH_TMP/4k.bin"
bench_code '20[01]' -H "$A" -T "$BENCH_TMP/4k.bin" "$BASE/api/storage/bench/4k.bin"
url=$(aws s3 presign "s3://bench/bench/4k.bin" --expires-in 3600)
bench_code 200 "$url" || exit 1
read -r s3get restget < <(bench_wrk_pair "$url" "" "$BASE/api/storage/bench/4k.bin" "$A")
report "4 KiB GetObject rps (presigned) vs REST GET" "$s3get" "$restget" \
    "$(ratio "$s3get" "$restget")" ">= 0.8"

# --- 1 GiB upload: aws s3 cp vs REST PUT
head -c $((MB * 1048576)) /dev/urandom >"$BENCH_TMP/big.bin"
cat "$BENCH_TMP/big.bin" >/dev/null
# aws_run [ENDPOINT]: MiB/s of one "aws s3 cp" of the file (to
# Filestor's /s3 unless an endpoint is named).
aws_run() {
	local t0 t1
	sync
	t0=$(now_ns)
	AWS_BASE=${1:-} aws s3 cp --quiet "$BENCH_TMP/big.bin" \
	    "s3://bench/bench/s3big.bin" ||
	    { bench_fail "aws s3 cp ${1:-}" "failed"; return 1; }
	t1=$(now_ns)
	mbps $((MB * 1048576)) $((t1 - t0))
}
put_run() {
	sync
	bench_rate $((MB * 1048576)) curl -s -o /dev/null -w '%{http_code}' \
	    -H "$A" -T "$BENCH_TMP/big.bin" "$BASE/api/storage/bench/big.bin"
}
read -r awsmb putmb noopmb < <(BENCH_ROUNDS=${BENCH_PUT_ROUNDS:-3} \
    bench_rounds aws_run put_run "aws_run $BASE/bench/s3")
report "$MB MiB aws s3 cp MiB/s vs REST PUT" "$awsmb" "$putmb" \
    "$(ratio "$awsmb" "$putmb")" ">= 0.8"
report "$MB MiB aws s3 cp MiB/s vs the same to a do-nothing S3" "$awsmb" \
    "$noopmb" "$(ratio "$awsmb" "$noopmb")" "(for scale)"
report "$MB MiB aws s3 cp to a do-nothing S3 vs REST PUT" "$noopmb" \
    "$putmb" "$(ratio "$noopmb" "$putmb")" "(the ceiling)"
