# Resumable uploads (issue 16): 1 GiB through tus in 8 MiB PATCHes vs one
# streamed PUT of the same file, on the same server and disk (median of
# BENCH_UPLOAD_ROUNDS, 3, interleaved); and the uploads worker's peak RSS.
set -uo pipefail
. ./lib.sh
trap bench_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
MB=${BENCH_UPLOAD_MB:-1024}
CHUNK_MB=8
A="Authorization: Bearer $KEY"
T="Tus-Resumable: 1.0.0"

report "what" "value" "baseline" "ratio" "target"

head -c $((MB * 1048576)) /dev/urandom >"$BENCH_TMP/big.bin"
mkdir -p "$BENCH_TMP/chunks"
split -b "${CHUNK_MB}M" -d -a 4 "$BENCH_TMP/big.bin" "$BENCH_TMP/chunks/c"
cat "$BENCH_TMP/big.bin" >/dev/null	# both sides read from the page cache
meta="key $(printf 'bench/tus.bin' | base64 -w0)"

# One tus upload of the file: creation, then a PATCH per chunk. Prints
# the status of the last answer, as bench_rate wants.
tus_upload() {
	local loc off=0 c code
	loc=$(curl -s -D - -o /dev/null -X POST -H "$A" -H "$T" -H 'Content-Length: 0' \
	    -H "Upload-Length: $((MB * 1048576))" -H "Upload-Metadata: $meta" \
	    "$BASE/api/uploads" | tr -d '\r' | awk -F': ' 'tolower($1) == "location" { print $2 }')
	[ -n "$loc" ] || { echo 000; return; }
	for c in "$BENCH_TMP"/chunks/c*; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "$A" -H "$T" \
		    -H 'Content-Type: application/offset+octet-stream' \
		    -H "Upload-Offset: $off" -T "$c" "$BASE$loc")
		[ "$code" = 204 ] || { echo "$code"; return; }
		off=$((off + $(stat -c %s "$c")))
	done
	echo 204
}
tus_run() { sync; bench_rate $((MB * 1048576)) tus_upload; }
put_run() {
	sync
	bench_rate $((MB * 1048576)) curl -s -o /dev/null -w '%{http_code}' \
	    -H "$A" -T "$BENCH_TMP/big.bin" "$BASE/api/storage/bench/put.bin"
}
read -r tus_mbps put_mbps < <(BENCH_ROUNDS=${BENCH_UPLOAD_ROUNDS:-3} bench_pair tus_run put_run)
report "$MB MiB tus ($CHUNK_MB MiB PATCHes) MiB/s vs one PUT" "$tus_mbps" "$put_mbps" \
    "$(ratio "$tus_mbps" "$put_mbps")" ">= 0.8"

up_rss=$(bench_hwm uploads)
put_rss=$(bench_hwm put)
report "uploads worker peak RSS KiB (after $MB MiB) vs put's" "$up_rss" "$put_rss" \
    "$(ratio "$up_rss" "$put_rss")" "< 24576"
rm -rf "$BENCH_TMP/big.bin" "$BENCH_TMP/chunks"
