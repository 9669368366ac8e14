# Transform benchmarks (issues 4 and 21): ratios against baselines
# measured in the same run on the same machine.
#
#   cold transforms from each source format (JPEG, PNG 8- and 16-bit,
#     WebP, GIF, AVIF) to 400 px wide WebP and AVIF, time per image
#     through the server (each request a distinct rendition, so a miss),
#     against vipsthumbnail on the same file (one process over
#     BENCH_TRANSFORMS copies, so its start-up is amortized as our
#     worker's is); the two alternate BENCH_ROUNDS times and the medians
#     are compared (bench_pair)
#   peak RSS of each: the get workers' VmHWM (a fresh server for each
#     source and output, so one format's heap does not count for the
#     next), and vipsthumbnail's maximum resident size
#   with BENCH_BEFORE=1, the same through ImageMagick's own decoders
#     (TRANSFORM_SCALED_DECODE=0, the path before issue 21)
#   warm rendition hit rps vs raw GET of an original of the same size
#
# BENCH_FORMATS picks sources (default: jpeg png png16 webp gif avif),
# BENCH_OUTPUTS outputs (default: webp avif).
set -uo pipefail
. ./lib.sh
N=${BENCH_TRANSFORMS:-5}
# The test tools use the system policy (ours refuses gradient: and noise).
im() { env -u MAGICK_CONFIGURE_PATH "$@"; }

# --- sources: one noisy 4000x3000 photo, then the other formats from it
# (the sizes of issue 21: PNG 3000x2000, the others 4000x3000, GIF
# 2000x1500 as GIFs are seldom larger). They outlive each server.
src=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-bench-src.XXXXXX")
trap 'bench_stop; rm -rf "$src"' EXIT
im convert -size 4000x3000 gradient:'#3060a0'-'#e0c080' -attenuate 0.4 \
    +noise Gaussian -quality 90 "$src/photo.jpeg"
make_src() { # FORMAT -> $src/photo.FORMAT
	case "$1" in
	jpeg) ;;
	png) im convert "$src/photo.jpeg" -crop 3000x2000+0+0 +repage \
	    "$src/photo.png" ;;
	png16) im convert -size 3000x2000 gradient:'#3060a0'-'#e0c080' \
	    -attenuate 0.4 +noise Gaussian -depth 16 "PNG48:$src/photo.png16" ;;
	webp) im convert "$src/photo.jpeg" -quality 80 "$src/photo.webp" ;;
	gif) im convert "$src/photo.jpeg" -resize 2000x1500 "$src/photo.gif" ;;
	avif) im convert "$src/photo.jpeg" -quality 50 "$src/photo.avif" ;;
	esac
}
mime() { case "$1" in png16) echo image/png ;; *) echo "image/$1" ;; esac; }
# vipsthumbnail picks its loader by suffix
vsuffix() { case "$1" in png16) echo png ;; *) echo "$1" ;; esac; }

ms_per() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.1f", ns / n / 1e6 }'; }

# Peak RSS of the get workers since they started.
rss_peak() {
	local p v max=0
	for p in $(cat "$FILESTOR_SOCK_DIR/get.pid.workers"); do
		v=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}

# ours FORMAT OUT: ms per image over N distinct renditions, fetched by
# one curl (one connection, its start-up amortized as vipsthumbnail's
# is). A running counter (in a file: bench_pair runs this in a subshell)
# varies the width (401..420) and the quality (75..85), so no request
# hits the cache.
echo 0 >"$src/seq"
echo 0 >"$src/bad"
ours() {
	local f=$1 out=$2 i t0 t1 w q seq bad
	local -a args=()
	seq=$(cat "$src/seq")
	for i in $(seq 1 "$N"); do
		seq=$((seq + 1))
		w=$((401 + seq % 20))
		q=$((75 + seq / 20 % 11))
		args+=(-o /dev/null \
		    "$BASE/api/storage/bench/photo.$f?width=$w&format=$out&quality=$q")
	done
	t0=$(now_ns)
	bad=$(curl -s -w '%{http_code}\n' -H "$A" "${args[@]}" | grep -vc '^200$')
	t1=$(now_ns)
	echo "$seq" >"$src/seq"
	echo $(($(cat "$src/bad") + bad)) >"$src/bad"
	if [ "$bad" -ne 0 ]; then
		bench_fail "$f to $out" "$bad of $N transforms did not answer 200"
		return 1
	fi
	ms_per $((t1 - t0)) "$N"
}

# vips FORMAT OUT: ms per image, one vipsthumbnail over N copies; its
# maximum resident size goes to $src/vips.rss.
vips() {
	local f=$1 out=$2 t0 t1 r
	t0=$(now_ns)
	if ! /usr/bin/time -f '%M' -o "$src/vips.rss1" \
	    vipsthumbnail "$src"/v/p*."$(vsuffix "$f")" -s 400x \
	    -o "tn_%s.$out[Q=80]" 2>/dev/null; then
		bench_fail "vipsthumbnail $f to $out" "it failed"
		return 1
	fi
	t1=$(now_ns)
	r=$(tail -n1 "$src/vips.rss1")
	[ "$r" -gt "$(cat "$src/vips.rss")" ] && echo "$r" >"$src/vips.rss"
	ms_per $((t1 - t0)) "$N"
}

# One server per source and output (and mode), for clean peak RSS.
start() { # MODE: new, or before (TRANSFORM_SCALED_DECODE=0)
	if [ "$1" = before ]; then
		export TRANSFORM_SCALED_DECODE=0
	else
		unset TRANSFORM_SCALED_DECODE
	fi
	bench_start || { echo "bench: server did not start" >&2; exit 1; }
	A="Authorization: Bearer $KEY"
}

modes=new
[ "${BENCH_BEFORE:-0}" = 1 ] && modes="new before"
printf '%-8s %-5s %-6s %9s %9s %7s %12s %12s\n' source out path "ours ms" \
    "vips ms" ratio "ours RSS KiB" "vips RSS KiB"
for f in ${BENCH_FORMATS:-jpeg png png16 webp gif avif}; do
	make_src "$f"
	[ -s "$src/photo.$f" ] || { echo "bench: no $f source" >&2; continue; }
	rm -rf "$src/v"
	mkdir -p "$src/v"
	for i in $(seq 1 "$N"); do
		cp "$src/photo.$f" "$src/v/p$i.$(vsuffix "$f")"
	done
	dims=$(im identify -format '%wx%h' "$src/photo.$f[0]")
	for out in ${BENCH_OUTPUTS:-webp avif}; do
		for mode in $modes; do
			start "$mode"
			bench_code '20[01]' -H "$A" -H "Content-Type: $(mime "$f")" \
			    -T "$src/photo.$f" "$BASE/api/storage/bench/photo.$f"
			echo 0 >"$src/vips.rss"
			read -r a b < <(bench_pair "ours $f $out" "vips $f $out")
			printf '%-8s %-5s %-6s %9s %9s %7s %12s %12s\n' "$f" "$out" \
			    "$mode" "$a" "$b" "$(ratio "$a" "$b")" "$(rss_peak)" \
			    "$(cat "$src/vips.rss")"
			bench_stop
		done
	done
	echo "         ($f source: $dims, $(stat -c %s "$src/photo.$f") bytes)"
done
bad=$(cat "$src/bad")
[ "$bad" -eq 0 ] || echo "bench: $bad cold transforms failed" >&2
echo "target: ratio <= 1.0 for every source (aim 0.7); ms per image, medians of ${BENCH_ROUNDS:-5} rounds of $N"
echo

# --- warm rendition hit vs raw GET of an original of the same size
start new
bench_code '20[01]' -H "$A" -H 'Content-Type: image/jpeg' \
    -T "$src/photo.jpeg" "$BASE/api/storage/bench/photo.jpeg"
report "what" "value" "baseline" "ratio" "target"
url="$BASE/api/storage/bench/photo.jpeg?width=400&format=webp&quality=80"
[ "$(curl -s -o "$BENCH_TMP/warm.webp" -w '%{http_code}' -H "$A" "$url")" = 200 ] ||
    bench_fail "warm rendition" "the first transform did not answer 200"
size=$(stat -c %s "$BENCH_TMP/warm.webp")
head -c "$size" /dev/urandom >"$BENCH_TMP/same.bin"
bench_code '20[01]' -H "$A" -T "$BENCH_TMP/same.bin" "$BASE/api/storage/bench/same.bin"
hit=$(curl -s -o /dev/null -D - -H "$A" "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-rendition" { print $2 }')
[ "$hit" = hit ] || echo "bench: warm request was not a cache hit ($hit)" >&2
warm=$(bench_wrk "$url" "$A")
raw=$(bench_wrk "$BASE/api/storage/bench/same.bin" "$A")
report "warm rendition hit rps vs raw GET of a $size-byte original" \
    "$warm" "$raw" "$(ratio "$warm" "$raw")" ">= 0.9"
