# Web app benchmarks (issue 17), measured in Debian's headless chromium
# (playwright-core from tests/npm, as tests/t18-webapp.sh):
#   - first load: bytes of HTML, JS and CSS the app loads before it can
#     be used (decoded, i.e. before compression), target <= 150 KiB;
#   - time to show 1,000 files of one prefix (API included), from the
#     navigation to the frame after the rows are in the table, against
#     the same listing fetched and parsed by the page alone (the API
#     part), medians of BENCH_ROUNDS; aim at 300 ms or less.
set -uo pipefail
. ./lib.sh
trap bench_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
N=${BENCH_UI_FILES:-1000}

nm=$("$BENCH_TOP/tests/npm/install" "$BENCH_BUILD") || { bench_fail "ui" "$nm"; exit 1; }
PW=bench-ui-password
uid=$(printf '%s\n' "$PW" | "$FILESTORCTL" user create ui@example.com --tenant "$TID" \
    --role admin --password-stdin) || { bench_fail "ui" "no user"; exit 1; }
# N small files under one prefix: one curl, four uploads at a time on
# kept-alive connections.
printf x >"$BENCH_TMP/x.txt"
seq -f 'ui/f-%05g.txt' 0 $((N - 1)) |
    awk -v b="$BASE" -v f="$BENCH_TMP/x.txt" '{ printf "url = \"%s/api/storage/%s\"\nupload-file = \"%s\"\noutput = \"/dev/null\"\n", b, $1, f }' \
    >"$BENCH_TMP/curl.conf"
curl -sS -f --parallel --parallel-max 4 -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: text/plain' -K "$BENCH_TMP/curl.conf" ||
    { bench_fail "ui" "the uploads failed"; exit 1; }

report "what" "value" "baseline" "ratio" "target"
out=$(NODE_MODULES=$nm BASE=$BASE EMAIL=ui@example.com PASSWORD=$PW N=$N \
    ROUNDS=${BENCH_ROUNDS:-5} node ui.mjs) || { bench_fail "ui" "$out"; exit 1; }
read -r bytes show api <<<"$out"
kib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1024 }')
report "first load: HTML+JS+CSS KiB (uncompressed)" "$kib" "150" "$(ratio "$kib" 150)" "<= 1"
report "show $N files ms (API included) vs the API alone" "$show" "$api" "$(ratio "$show" "$api")" "<= 300 ms"
