# Transform isolation (issue 14 item 4, docs/transforms.md "Isolation"):
# p99 latency of 4 KiB downloads while 4 bomb-sized transforms run (a
# 143 KB PNG declaring 7000x7000, 49 MP), against the same with no
# transforms. Rounds alternate idle and loaded, so a neighbour's load on
# a shared machine hits both sides; the report gives the median and the
# range of the per-round ratios. Target: <= 2.
set -uo pipefail
. ./lib.sh
trap bench_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
A="Authorization: Bearer $KEY"
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-5}

"$BENCH_TOP/tests/mkbomb" "$BENCH_TMP/bomb.png"
head -c 4096 /dev/urandom >"$BENCH_TMP/4k.bin"
bench_code '20[01]' -H "$A" -H "Content-Type: image/png" -T "$BENCH_TMP/bomb.png" \
    "$BASE/api/storage/bench/bomb.png"
bench_code '20[01]' -H "$A" -T "$BENCH_TMP/4k.bin" "$BASE/api/storage/bench/4k.bin"

# Four clients, each asking for a new rendition (a cache miss) as soon as
# the last one is done.
BOMBS=()
bench_start_bombs() {
	local i
	for i in 1 2 3 4; do
		( w=$((100 * i)); while :; do w=$((w + 1))
		  curl -s -o /dev/null -m 60 -H "$A" \
		      "$BASE/api/storage/bench/bomb.png?width=$w&format=jpeg"; done ) &
		BOMBS+=($!)
	done
	sleep 1	# let them reach ImageMagick
}
bench_stop_bombs() {
	[ "${#BOMBS[@]}" -gt 0 ] || return 0
	kill "${BOMBS[@]}" 2>/dev/null
	wait "${BOMBS[@]}" 2>/dev/null
	BOMBS=()
}
trap 'bench_stop_bombs; bench_stop' EXIT
# p99 in ms of 4 KiB GETs over SECS seconds (wrk --latency: 2 threads,
# 4 connections; not a saturation test, a latency one). Nothing when an
# answer failed (bench_wrk_out says why).
p99() {
	bench_wrk_out -t2 -c4 -d"${SECS}s" --latency -H "$A" "$BASE/api/storage/bench/4k.bin" |
	    awk '$1 == "99%" { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }'
}

idle=() loaded=() ratios=()
for _ in $(seq "$ROUNDS"); do
	i=$(p99)
	bench_start_bombs
	l=$(p99)
	bench_stop_bombs
	# A round with a failed answer voids the whole figure.
	if ! is_num "$i" || ! is_num "$l"; then
		idle=(-) loaded=(-) ratios=(n/a)
		break
	fi
	idle+=("$i") loaded+=("$l") ratios+=("$(ratio "$l" "$i")")
done
rng() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }
# med, rng2: as median and rng, but a voided figure stays as it is.
med() { if is_num "$1"; then median "$@"; else echo "$1"; fi; }
rng2() { if is_num "$1"; then rng "$@"; else echo "$1"; fi; }
report "what" "value" "baseline" "ratio" "target"
report "4 KiB GET p99 ms, 4 bomb transforms vs none (median)" \
    "$(med "${loaded[@]}")" "$(med "${idle[@]}")" "$(med "${ratios[@]}")" "<= 2"
report "  ranges over $ROUNDS interleaved rounds" "$(rng2 "${loaded[@]}")" \
    "$(rng2 "${idle[@]}")" "$(rng2 "${ratios[@]}")" "report"
