# bench/lib.sh: shared by the bench/*.sh scripts (bash). Starts Filestor
# on a free port with a temporary state dir, plus the bench extras: a
# no-op FastCGI responder at /bench/noop and static files under
# /bench/static/ served by the same lighttpd.
#
#   bench_start      -> BASE, KEY (admin API key), TID, STATIC_DIR
#   bench_stop
#   bench_wrk URL [header] -> prints requests/second
#   ratio A B        -> A/B with 3 decimals

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/serve.sh
. "$BENCH_TOP/tools/serve.sh"
BENCH_BUILD=${BENCH_BUILD:-$BENCH_TOP/build}
BENCH_SECS=${BENCH_SECS:-5}

bench_start() {
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-bench.XXXXXX")
	# As root the server runs as FILESTOR_USER, which must reach the
	# state dir inside (as tests/run does).
	[ "$(id -u)" -ne 0 ] || chmod 711 "$BENCH_TMP"
	export AUTH_SECRET
	AUTH_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
	export COOKIE_SECURE=0
	# All of serve_env's defaults, so that a second start in the same
	# shell (bench/transform.sh) gets fresh ones.
	unset FILESTOR_DB FILESTOR_DATA_DIR FILESTOR_CACHE_DIR FILESTOR_RUN_DIR \
	    FILESTOR_SOCK_DIR FILESTOR_CGI_DIR FILESTOR_LOG
	serve_env "$BENCH_BUILD" "$BENCH_TMP/state" "$(serve_free_port)"
	STATIC_DIR=$FILESTOR_RUN_DIR/www/bench/static
	mkdir -p "$STATIC_DIR"
	cat >"$BENCH_TMP/local.conf" <<EOT
\$HTTP["url"] =~ "^/bench/" { url.access-deny = () }
\$HTTP["url"] == "/bench/noop" {
	fastcgi.server = ( "/" => ( "noop" => ( "socket" => var.sock + "/bench-noop.sock",
		"check-local" => "disable" ) ) )
}
EOT
	export FILESTOR_LIGHTTPD_LOCAL=$BENCH_TMP/local.conf
	serve_start || return 1
	# As root, lighttpd runs as FILESTOR_USER: give it the socket.
	local -a own=()
	local noop=$BENCH_BUILD/bench/noop
	if [ "$(id -u)" -eq 0 ]; then
		own=(-u "$FILESTOR_USER" -U "$FILESTOR_USER")
		if ! serve_as_user "$FILESTOR_USER" test -x "$noop"; then
			cp "$noop" "$FILESTOR_RUN_DIR/bench-noop" || return 1
			noop=$FILESTOR_RUN_DIR/bench-noop
		fi
	fi
	# The mark spawn-fcgi/stop knows its processes by (spawn-fcgi/start
	# sets it for the programs).
	FILESTOR_POOL_SOCK_DIR=$(cd "$FILESTOR_SOCK_DIR" && pwd -P) \
	spawn-fcgi -s "$FILESTOR_SOCK_DIR/bench-noop.sock" -M 0660 "${own[@]}" \
	    -F "${FILESTOR_WORKERS:-2}" -P "$FILESTOR_SOCK_DIR/bench-noop.pid" \
	    -- "$noop" >/dev/null
	BASE="http://127.0.0.1:$PORT"
	TID=$("$FILESTORCTL" tenant create bench)
	local uid
	uid=$("$FILESTORCTL" user create bench@example.com --tenant "$TID" --role admin)
	KEY=$("$FILESTORCTL" apikey create --tenant "$TID" --user "$uid" 2>/dev/null)
}

bench_stop() {
	serve_stop
	[ -n "${BENCH_TMP:-}" ] && rm -rf "$BENCH_TMP"
	BENCH_TMP=
}

# bench_wrk URL [HEADER]: requests per second over BENCH_SECS seconds.
bench_wrk() {
	local url=$1 h=${2:-}
	if [ -n "$h" ]; then
		wrk -t2 -c16 -d"${BENCH_SECS}s" -H "$h" "$url" 2>/dev/null
	else
		wrk -t2 -c16 -d"${BENCH_SECS}s" "$url" 2>/dev/null
	fi | awk '/^Requests\/sec/ { print $2 }'
}

# median N...: the middle value (the mean of the two middle ones for an
# even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The machine may be shared and its disk is often virtual: a single run
# of each side says little. These run the subject and its baseline
# alternately BENCH_ROUNDS times, so that a slow spell hits both alike,
# and print the median of each ("subject baseline").
#
# bench_pair CMD_A CMD_B: each command prints one number.
bench_pair() {
	local a="" b="" x
	for _ in $(seq 1 "${BENCH_ROUNDS:-5}"); do
		x=$(eval "$1")
		a="$a ${x:-0}"
		x=$(eval "$2")
		b="$b ${x:-0}"
	done
	echo "$(median $a) $(median $b)"
}
# bench_wrk_pair A_URL A_HDR B_URL B_HDR: requests per second, rounds of
# BENCH_SECS_ROUND (2) seconds each.
bench_wrk_pair() {
	BENCH_SECS=${BENCH_SECS_ROUND:-2} bench_pair \
	    "bench_wrk '$1' '$2'" "bench_wrk '$3' '$4'"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
# now_ns: a monotonic-enough wall clock for throughput.
now_ns() { date +%s%N; }
mbps() { awk -v bytes="$1" -v ns="$2" 'BEGIN { printf "%.1f", bytes / 1048576 / (ns / 1e9) }'; }
# report WHAT VALUE BASELINE RATIO TARGET
report() { printf '%-58s %12s %12s %8s  %s\n' "$1" "$2" "$3" "$4" "$5"; }
