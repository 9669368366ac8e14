# Storage benchmarks (issue 3): ratios against baselines measured in the
# same run on the same lighttpd and disk.
set -uo pipefail
. ./lib.sh
trap bench_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
PUT_MB=${BENCH_PUT_MB:-1024}
A="Authorization: Bearer $KEY"

report "what" "value" "baseline" "ratio" "target"

# --- 4 KiB GET: the program vs the no-op FastCGI floor and static files
head -c 4096 /dev/urandom >"$STATIC_DIR/4k.bin"
bench_code '20[01]' -H "$A" -T "$STATIC_DIR/4k.bin" "$BASE/api/storage/bench/4k.bin"
read -r get noop < <(bench_wrk_pair "$BASE/api/storage/bench/4k.bin" "$A" "$BASE/bench/noop" "")
read -r get2 static < <(BENCH_ROUNDS=3 bench_wrk_pair "$BASE/api/storage/bench/4k.bin" "$A" \
    "$BASE/bench/static/4k.bin" "")
report "4 KiB authenticated GET rps vs no-op FastCGI" "$get" "$noop" "$(ratio "$get" "$noop")" ">= 0.75"
report "4 KiB authenticated GET rps vs static" "$get2" "$static" "$(ratio "$get2" "$static")" "report"

# --- 10 MiB GET throughput vs static
head -c $((10 * 1048576)) /dev/urandom >"$STATIC_DIR/10m.bin"
bench_code '20[01]' -H "$A" -T "$STATIC_DIR/10m.bin" "$BASE/api/storage/bench/10m.bin"
read -r g10 s10 < <(bench_wrk_pair "$BASE/api/storage/bench/10m.bin" "$A" "$BASE/bench/static/10m.bin" "")
x10() { is_num "$1" && awk -v r="$1" 'BEGIN{printf "%.0f", r*10}' || echo -; }
report "10 MiB GET MiB/s vs static" "$(x10 "$g10")" "$(x10 "$s10")" "$(ratio "$g10" "$s10")" ">= 0.95"

# --- PUT worker peak RSS before and after a large PUT (fresh workers)
hwm() { bench_hwm put; }
head -c 1048576 /dev/urandom >"$BENCH_TMP/1m.bin"
for _ in 1 2 3 4; do
	bench_code '20[01]' -H "$A" -T "$BENCH_TMP/1m.bin" "$BASE/api/storage/bench/small.bin"
done
rss_small=$(hwm)

# --- large PUT vs dd conv=fsync of the same bytes to the same disk, the
# median of BENCH_PUT_ROUNDS (3) of each, interleaved.
head -c $((PUT_MB * 1048576)) /dev/urandom >"$BENCH_TMP/big.bin"
cat "$BENCH_TMP/big.bin" >/dev/null	# both runs read from the page cache
dd_run() {
	local t0 t1 st
	sync
	t0=$(now_ns)
	dd if="$BENCH_TMP/big.bin" of="$BENCH_TMP/dd.out" bs=1M conv=fsync status=none
	st=$?
	t1=$(now_ns)
	rm -f "$BENCH_TMP/dd.out"
	[ "$st" -eq 0 ] || { bench_fail "dd conv=fsync" "exit $st"; return 1; }
	mbps $((PUT_MB * 1048576)) $((t1 - t0))
}
put_run() {
	sync
	bench_rate $((PUT_MB * 1048576)) curl -s -o /dev/null -w '%{http_code}' \
	    -H "$A" -T "$BENCH_TMP/big.bin" "$BASE/api/storage/bench/big.bin"
}
read -r put_mbps dd_mbps < <(BENCH_ROUNDS=${BENCH_PUT_ROUNDS:-3} bench_pair put_run dd_run)
report "$PUT_MB MiB PUT MiB/s vs dd conv=fsync" "$put_mbps" "$dd_mbps" "$(ratio "$put_mbps" "$dd_mbps")" ">= 0.85"
# Context, no target: the same upload to the no-op program, which drops
# the body; i.e. what lighttpd and FastCGI alone allow on this machine.
noop_run() {
	bench_rate $((PUT_MB * 1048576)) curl -s -o /dev/null -w '%{http_code}' \
	    -T "$BENCH_TMP/big.bin" "$BASE/bench/noop"
}
read -r put2 noop_put < <(BENCH_ROUNDS=${BENCH_PUT_ROUNDS:-3} bench_pair put_run noop_run)
report "$PUT_MB MiB PUT MiB/s vs the same to the no-op (ceiling)" "$put2" "$noop_put" \
    "$(ratio "$put2" "$noop_put")" "report"
rss_big=$(hwm)
report "PUT worker peak RSS KiB: after 1 MiB PUTs / after $PUT_MB MiB" "$rss_small" "$rss_big" \
    "$(ratio "$rss_big" "$rss_small")" "flat, < 16384"
rm -f "$BENCH_TMP/big.bin"
bench_code 204 -H "$A" -X DELETE "$BASE/api/storage/bench/big.bin"

# --- list: 1,000,000 rows in one tenant, first page of 100 under a prefix
uid=$("$FILESTORCTL" user create lister@example.com --tenant "$TID" --role authenticated)
LK=$("$FILESTORCTL" apikey create --tenant "$TID" --user "$uid" 2>/dev/null)
sqlite3 "$FILESTOR_DB" >/dev/null "PRAGMA busy_timeout=10000;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000)
INSERT INTO files (key, tenant_id, size, content_type, sha256, owner_id, created_at, updated_at)
SELECT printf('tenants/%s/d%03d/f%07d', '$TID', i % 1000, i), '$TID', 1,
    'application/octet-stream', 'x', '$uid', 0, 0 FROM c;"
# p50 KEY: the median of 200 pages, only when all 200 answered 200.
p50() {
	local key=$1 i out
	out=$(for i in $(seq 1 200); do
		curl -s -o /dev/null -H "Authorization: Bearer $key" \
		    -w '%{http_code} %{time_pretransfer} %{time_starttransfer}\n' \
		    "$BASE/api/storage?prefix=d$(printf %03d $((i % 1000)))/&limit=100"
	done)
	if [ "$(grep -c '^200 ' <<<"$out")" != 200 ]; then
		bench_fail "list" "answers $(awk '$1 != 200 { print $1 }' <<<"$out" | sort | uniq -c | tr -s ' \n' ' ')"
		echo -
		return
	fi
	awk '{ print ($3 - $2) * 1000 }' <<<"$out" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'
}
rows=$(curl -s -H "Authorization: Bearer $LK" "$BASE/api/storage?prefix=d001/&limit=100" | jq '.items | length')
[ "$rows" = 100 ] || echo "bench: list returned $rows rows, not 100" >&2
report "list p50 ms, 1M rows, page of 100 (owner-scoped role)" "$(p50 "$LK")" "" "" "<= 5 ms"
report "list p50 ms, 1M rows, page of 100 (admin role)" "$(p50 "$KEY")" "" "" "<= 5 ms"
