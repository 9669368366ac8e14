# Transform benchmarks (issue 4): ratios against baselines measured in the
# same run on the same machine.
#
#   cold 4000x3000 JPEG -> 400 px wide WebP, time per image, through the
#     server (each request a cache miss) vs vipsthumbnail and vs
#     convert -resize on the same file
#   warm rendition hit rps vs a raw GET of an original of the same size
#   peak RSS (VmHWM) of a get worker after the cold transforms
set -uo pipefail
. ./lib.sh
trap bench_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
N=${BENCH_TRANSFORMS:-10}
A="Authorization: Bearer $KEY"
# The test tools use the system policy (ours refuses gradient: and noise).
im() { env -u MAGICK_CONFIGURE_PATH "$@"; }

report "what" "value" "baseline" "ratio" "target"

src=$BENCH_TMP/photo.jpg
im convert -size 4000x3000 gradient:'#3060a0'-'#e0c080' -attenuate 0.4 \
    +noise Gaussian -quality 90 "$src"
curl -s -o /dev/null -H "$A" -H 'Content-Type: image/jpeg' -T "$src" \
    "$BASE/api/storage/bench/photo.jpg"

ms_per() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.1f", ns / n / 1e6 }'; }

# --- cold transform through the server: N distinct renditions (misses)
bad=0
t0=$(now_ns)
for i in $(seq 1 "$N"); do
	code=$(curl -s -o "$BENCH_TMP/out.webp" -w '%{http_code}' -H "$A" \
	    "$BASE/api/storage/bench/photo.jpg?width=400&format=webp&quality=$((70 + i))")
	[ "$code" = 200 ] || bad=$((bad + 1))
done
t1=$(now_ns)
[ "$bad" -eq 0 ] || echo "bench: $bad cold transforms failed" >&2
ours=$(ms_per $((t1 - t0)) "$N")
dims=$(im identify -format '%m %wx%h' "$BENCH_TMP/out.webp")

rss=0
for p in $(cat "$FILESTOR_SOCK_DIR/get.pid.workers"); do
	v=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	[ -n "$v" ] && [ "$v" -gt "$rss" ] && rss=$v
done

# --- vipsthumbnail on the same file: one process over N copies, so its
# start-up is amortized as our worker's is (a stricter baseline than a
# process per image)
mkdir -p "$BENCH_TMP/v"
for i in $(seq 1 "$N"); do cp "$src" "$BENCH_TMP/v/p$i.jpg"; done
t0=$(now_ns)
vipsthumbnail "$BENCH_TMP"/v/p*.jpg -s 400x -o 'tn_%s.webp[Q=80]'
t1=$(now_ns)
vips=$(ms_per $((t1 - t0)) "$N")
t0=$(now_ns)
VIPS_CONCURRENCY=1 vipsthumbnail "$BENCH_TMP"/v/p*.jpg -s 400x -o 'tn1_%s.webp[Q=80]'
t1=$(now_ns)
vips1=$(ms_per $((t1 - t0)) "$N")
[ -f "$BENCH_TMP/v/tn_p1.webp" ] || echo "bench: vipsthumbnail wrote nothing" >&2

# --- convert -resize (ImageMagick CLI: full decode, no shrink-on-load)
t0=$(now_ns)
for i in $(seq 1 "$N"); do
	im convert "$src" -resize 400x -quality $((70 + i)) "$BENCH_TMP/cv.webp"
done
t1=$(now_ns)
cv=$(ms_per $((t1 - t0)) "$N")

report "cold 4000x3000 JPEG -> 400w WebP ms/image ($dims) vs vipsthumbnail" \
    "$ours" "$vips" "$(ratio "$ours" "$vips")" "<= 1.5"
report "  same vs vipsthumbnail with VIPS_CONCURRENCY=1" \
    "$ours" "$vips1" "$(ratio "$ours" "$vips1")" "report"
report "  same vs convert -resize 400x" "$ours" "$cv" "$(ratio "$ours" "$cv")" \
    "report (< 1)"
report "get worker peak RSS KiB after the cold transforms" "$rss" "" "" "report"

# --- warm rendition hit vs raw GET of an original of the same size
url="$BASE/api/storage/bench/photo.jpg?width=400&format=webp&quality=80"
curl -s -o "$BENCH_TMP/warm.webp" -H "$A" "$url"
size=$(stat -c %s "$BENCH_TMP/warm.webp")
head -c "$size" /dev/urandom >"$BENCH_TMP/same.bin"
curl -s -o /dev/null -H "$A" -T "$BENCH_TMP/same.bin" "$BASE/api/storage/bench/same.bin"
hit=$(curl -s -o /dev/null -D - -H "$A" "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-rendition" { print $2 }')
[ "$hit" = hit ] || echo "bench: warm request was not a cache hit ($hit)" >&2
warm=$(bench_wrk "$url" "$A")
raw=$(bench_wrk "$BASE/api/storage/bench/same.bin" "$A")
report "warm rendition hit rps vs raw GET of a $size-byte original" \
    "$warm" "$raw" "$(ratio "$warm" "$raw")" ">= 0.9"
