# Resumable uploads (issue 16): 1 GiB through tus in 8 MiB PATCHes vs one
# streamed PUT of the same file, and vs the same bytes in as many 8 MiB
# PUTs (each PATCH is fsync'd before it is answered, as each PUT is: the
# fairer baseline), on the same server and disk (median of
# BENCH_UPLOAD_ROUNDS, 5, interleaved: with 3, two runs of one build on
# this virtual disk gave 0.79 and 0.91 against the 8 MiB PUTs); the
# same bytes both ways to bench/noop, what the web server alone costs 128
# requests instead of one; and the uploads worker's peak RSS.
# Then the same on S3 (s3rver; BENCH_UPLOAD_S3_MB, 256 MiB, one round),
# where the target is the peak RSS: under 24 MiB plus one part.
set -uo pipefail
. ./lib.sh
. "$BENCH_TOP/tests/s3.sh"
S3_DIR=
bench_up_stop() { bench_stop; s3_stop; [ -z "$S3_DIR" ] || rm -rf "$S3_DIR"; }
trap bench_up_stop EXIT
CHUNK_MB=8
T="Tus-Resumable: 1.0.0"

# One tus upload of the file: creation, then a PATCH per chunk, all from
# one curl over one kept-alive connection (as a tus client does). Prints
# the status of the last answer, or the first that failed, as bench_rate
# wants. Nothing in here but the two curls may start a process: this is
# timed, and a fork costs milliseconds on a busy machine (a stat per
# chunk once cost 1.7 s of a 5.7 s gigabyte, which PUT never paid).
tus_upload() {
	local loc="" off=0 c k v
	local -a args=()
	while IFS=': ' read -r k v; do
		[ "${k,,}" != location ] || loc=${v%$'\r'}
	done < <(curl -s -D - -o /dev/null -X POST -H "$A" -H "$T" -H 'Content-Length: 0' \
	    -H "Upload-Length: $((MB * 1048576))" -H "Upload-Metadata: $meta" \
	    "$BASE/api/uploads")
	[ -n "$loc" ] || { echo 000; return; }
	# split -b makes every chunk but the last CHUNK_MB MiB.
	for c in "$BENCH_TMP"/chunks/c*; do
		[ "$off" = 0 ] || args+=(--next)
		args+=(-s -o /dev/null -w '%{http_code}\n' -X PATCH -H "$A" -H "$T"
		    -H 'Content-Type: application/offset+octet-stream'
		    -H "Upload-Offset: $off" -T "$c" "$BASE$loc")
		off=$((off + CHUNK_MB * 1048576))
	done
	curl "${args[@]}" | awk '$0 != 204 { print; bad = 1; exit } END { if (!bad) print 204 }'
}
# The same chunks as PUTs of their own, one after the other, the same way.
puts_upload() {
	local c
	local -a args=()
	for c in "$BENCH_TMP"/chunks/c*; do
		[ ${#args[@]} = 0 ] || args+=(--next)
		args+=(-s -o /dev/null -w '%{http_code}\n' -H "$A" -T "$c"
		    "$BASE/api/storage/bench/chunks/${c##*/}")
	done
	curl "${args[@]}" | awk '!/^2/ { print; bad = 1; exit } END { if (!bad) print 201 }'
}
# The web server's own share: the same two ways to a program that reads
# and drops the body (bench/noop), so that what lighttpd and FastCGI cost
# 128 requests instead of one is measured in the same run.
noop_puts_upload() {
	local c
	local -a args=()
	for c in "$BENCH_TMP"/chunks/c*; do
		[ ${#args[@]} = 0 ] || args+=(--next)
		args+=(-s -o /dev/null -w '%{http_code}\n' -T "$c" "$BASE/bench/noop")
	done
	curl "${args[@]}" | awk '!/^2/ { print; bad = 1; exit } END { if (!bad) print 200 }'
}
noop_puts_run() { bench_rate $((MB * 1048576)) noop_puts_upload; }
noop_put_run() {
	bench_rate $((MB * 1048576)) curl -s -o /dev/null -w '%{http_code}' \
	    -T "$BENCH_TMP/big.bin" "$BASE/bench/noop"
}
tus_run() { sync; bench_rate $((MB * 1048576)) tus_upload; }
puts_run() { sync; bench_rate $((MB * 1048576)) puts_upload; }
put_run() {
	sync
	bench_rate $((MB * 1048576)) curl -s -o /dev/null -w '%{http_code}' \
	    -H "$A" -T "$BENCH_TMP/big.bin" "$BASE/api/storage/bench/put.bin"
}

# measure STORE-NAME ROUNDS: start, upload, report, stop.
measure() {
	local name=$1 rounds=$2 tus_mbps put_mbps t2 puts_mbps up_rss put_rss
	local n_puts n_put
	bench_start || { echo "bench: server did not start" >&2; return 1; }
	A="Authorization: Bearer $KEY"
	head -c $((MB * 1048576)) /dev/urandom >"$BENCH_TMP/big.bin"
	mkdir -p "$BENCH_TMP/chunks"
	split -b "${CHUNK_MB}M" -d -a 4 "$BENCH_TMP/big.bin" "$BENCH_TMP/chunks/c"
	cat "$BENCH_TMP/big.bin" >/dev/null	# both sides read from the page cache
	meta="key $(printf 'bench/tus.bin' | base64 -w0)"
	read -r tus_mbps put_mbps < <(BENCH_ROUNDS=$rounds bench_pair tus_run put_run)
	read -r t2 puts_mbps < <(BENCH_ROUNDS=$rounds bench_pair tus_run puts_run)
	report "$name: $MB MiB tus ($CHUNK_MB MiB PATCHes) MiB/s vs one PUT" "$tus_mbps" "$put_mbps" \
	    "$(ratio "$tus_mbps" "$put_mbps")" ">= 0.8"
	report "$name: the same vs $((MB / CHUNK_MB)) PUTs of $CHUNK_MB MiB" "$t2" "$puts_mbps" \
	    "$(ratio "$t2" "$puts_mbps")" "(fsync per chunk on both)"
	read -r n_puts n_put < <(BENCH_ROUNDS=$rounds bench_pair noop_puts_run noop_put_run)
	report "$name: to bench/noop, $((MB / CHUNK_MB)) PUTs of $CHUNK_MB MiB vs one PUT" \
	    "$n_puts" "$n_put" "$(ratio "$n_puts" "$n_put")" "(the web server's ceiling)"
	up_rss=$(bench_hwm uploads)
	put_rss=$(bench_hwm put)
	report "$name: uploads worker peak RSS KiB vs put's" "$up_rss" "$put_rss" \
	    "$(ratio "$up_rss" "$put_rss")" "< $3"
	rm -rf "$BENCH_TMP/big.bin" "$BENCH_TMP/chunks"
	bench_stop
}

report "what" "value" "baseline" "ratio" "target"
MB=${BENCH_UPLOAD_MB:-1024}
measure disk "${BENCH_UPLOAD_ROUNDS:-5}" 24576
[ "${BENCH_UPLOAD_S3:-1}" = 1 ] || exit 0
export FILESTOR_S3RVER=$BENCH_BUILD/s3rver/node_modules/.bin/s3rver
S3_DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-bench-s3.XXXXXX")
s3_install "$BENCH_BUILD" || exit 1
s3_start "$S3_DIR/data" "$(serve_free_port)" || exit 1
MB=${BENCH_UPLOAD_S3_MB:-256}
measure "s3 (part $((${S3_PART_BYTES:-8388608} >> 20)) MiB)" 1 $((24576 + ${S3_PART_BYTES:-8388608} / 1024))
