# bench/lib.sh: shared by the bench/*.sh scripts (bash). Starts Filestor
# on a free port with a temporary state dir, plus the bench extras: a
# no-op FastCGI responder at /bench/noop (and a do-nothing S3 endpoint
# under /bench/s3/, bench/noop.c) and static files under
# /bench/static/ served by the same lighttpd.
#
#   bench_start      -> BASE, KEY (admin API key), TID, BENCH_UID (its
#                       user), STATIC_DIR
#   bench_serve      -> as bench_start without the tenant (BASE, STATIC_DIR)
#   bench_stop
#   bench_save NAME / bench_use NAME: several instances in one shell
#   bench_wrk URL [header] -> prints requests/second
#   ratio A B        -> A/B with 3 decimals
#
# Every figure comes from answers that all succeeded: a measurement with
# a failed answer prints nothing (the figure shows as "-", its ratio as
# n/a) and says why on stderr (bench_fail). A dead baseline, such as a
# no-op that is not running, answers errors fast; a ratio against it
# would be meaningless.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/serve.sh
. "$BENCH_TOP/tools/serve.sh"
BENCH_BUILD=${BENCH_BUILD:-$BENCH_TOP/build}
BENCH_SECS=${BENCH_SECS:-5}

# bench_start: Filestor in a temporary state dir, with a tenant "bench"
# whose admin's API key is KEY. By default on SQLite in that dir; these,
# when set, change that (bench/postgres.sh):
#   BENCH_DB		FILESTOR_DB, e.g. a postgresql:// URI (tests/pg.sh)
#   BENCH_DATA_DIR	FILESTOR_DATA_DIR, e.g. another instance's
#   BENCH_AUTH_SECRET	AUTH_SECRET, e.g. another instance's (a fresh one
#			otherwise); front ends of one database share it
bench_start() {
	bench_serve || return 1
	TID=$("$FILESTORCTL" tenant create bench)
	BENCH_UID=$("$FILESTORCTL" user create bench@example.com --tenant "$TID" --role admin)
	KEY=$("$FILESTORCTL" apikey create --tenant "$TID" --user "$BENCH_UID" 2>/dev/null)
}

# bench_serve: bench_start's server, without making the tenant (a second
# front end of a database that has it).
bench_serve() {
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/filestor-bench.XXXXXX")
	# As root the server runs as FILESTOR_USER, which must reach the
	# state dir inside (as tests/run does).
	[ "$(id -u)" -ne 0 ] || chmod 711 "$BENCH_TMP"
	export AUTH_SECRET
	AUTH_SECRET=${BENCH_AUTH_SECRET:-$(head -c 48 /dev/urandom | base64 | tr -d '\n')}
	export COOKIE_SECURE=0
	# All of serve_env's defaults, so that a second start in the same
	# shell (bench/transform.sh) gets fresh ones.
	unset FILESTOR_DB FILESTOR_DATA_DIR FILESTOR_CACHE_DIR FILESTOR_RUN_DIR \
	    FILESTOR_SOCK_DIR FILESTOR_CGI_DIR FILESTOR_LOG RELAY_SOCKET \
	    RELAY_AGENT_SOCKET
	[ -n "${BENCH_DB:-}" ] && export FILESTOR_DB=$BENCH_DB
	[ -n "${BENCH_DATA_DIR:-}" ] && export FILESTOR_DATA_DIR=$BENCH_DATA_DIR
	serve_env "$BENCH_BUILD" "$BENCH_TMP/state" "$(serve_free_port)"
	STATIC_DIR=$FILESTOR_RUN_DIR/www/bench/static
	mkdir -p "$STATIC_DIR"
	cat >"$BENCH_TMP/local.conf" <<EOT
\$HTTP["url"] =~ "^/bench/" { url.access-deny = ()
	server.document-root = "$FILESTOR_RUN_DIR/www" }
var.noop = ( "/" => ( "noop" => ( "socket" => var.sock + "/bench-noop.sock",
	"check-local" => "disable" ) ) )
\$HTTP["url"] == "/bench/noop" { fastcgi.server = var.noop }
\$HTTP["url"] =^ "/bench/s3/" { fastcgi.server = var.noop }
EOT
	export FILESTOR_LIGHTTPD_LOCAL=$BENCH_TMP/local.conf
	local -a own=()
	local noop=$BENCH_BUILD/bench/noop
	# Several baselines are the no-op: without it they would answer 503.
	if [ ! -x "$noop" ]; then
		bench_fail "no-op FastCGI" "$noop is not built (make bench builds it)"
		return 1
	fi
	serve_start || return 1
	# As root, lighttpd runs as FILESTOR_USER: give it the socket.
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
	    -- "$noop" >/dev/null || {
		bench_fail "no-op FastCGI" "spawn-fcgi could not start $noop"
		return 1
	}
	BASE="http://127.0.0.1:$PORT"
}

bench_stop() {
	serve_stop
	[ -n "${BENCH_TMP:-}" ] && rm -rf "$BENCH_TMP"
	BENCH_TMP=
}

# What one instance is, in this shell: what bench_stop, the figures and
# filestorctl read.
BENCH_INST_VARS="BASE PORT KEY TID BENCH_UID STATIC_DIR BENCH_TMP AUTH_SECRET SERVER
    SERVE_PID SERVE_LIGHTTPD_PID SERVE_RELAY_PID SERVE_RUNTIME FILESTOR_STATE
    FILESTOR_DB FILESTOR_DATA_DIR FILESTOR_CACHE_DIR FILESTOR_RUN_DIR
    FILESTOR_SOCK_DIR FILESTOR_LOG FILESTOR_INSTANCE FILESTOR_LIGHTTPD_LOCAL
    RELAY_SOCKET RELAY_AGENT_SOCKET"
# bench_save NAME: remember the instance bench_start made last as NAME;
# bench_use NAME makes it current again (then bench_stop stops it).
bench_save() {
	local v out=""
	for v in $BENCH_INST_VARS; do
		out+="$v=$(printf '%q' "${!v:-}");"
	done
	printf -v "BENCH_INST_$1" '%s' "$out"
}
bench_use() {
	local v=BENCH_INST_$1
	[ -n "${!v:-}" ] || return 1
	eval "${!v}"
}

# bench_fail WHAT WHY: a measurement failed; no figure comes from it.
bench_fail() { echo "bench: $1: $2; no figure" >&2; }

# is_num S: S is a number (what a successful measurement prints).
is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# bench_wrk_out WRK-ARGS... URL: wrk's report when every answer
# succeeded: some answers, none with an error status (wrk counts >= 400;
# a redirect is an answer), no socket errors. Else bench_fail, status 1.
bench_wrk_out() {
	local out n bad sock why=""
	out=$(wrk "$@" 2>&1)
	n=$(awk '/ requests in / { print $1 }' <<<"$out")
	bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
	sock=$(sed -n 's/^ *Socket errors: *//p' <<<"$out")
	if ! is_num "$n" || [ "$n" -eq 0 ]; then
		why="no answers ($(tail -n 1 <<<"$out"))"
	elif [ -n "$bad" ] && [ "$bad" != 0 ]; then
		why="$bad of $n answers had an error status"
	elif [ -n "$sock" ]; then
		why="socket errors: $sock"
	fi
	if [ -n "$why" ]; then
		bench_fail "wrk ${*: -1}" "$why"
		return 1
	fi
	printf '%s\n' "$out"
}

# bench_wrk URL [HEADER]: requests per second over BENCH_SECS seconds.
bench_wrk() {
	local -a h=()
	[ -n "${2:-}" ] && h=(-H "$2")
	bench_wrk_out -t2 -c16 -d"${BENCH_SECS}s" "${h[@]}" "$1" |
	    awk '/^Requests\/sec/ { print $2 }'
}

# bench_code WANT CURL-ARGS...: run curl (body to /dev/null) and succeed
# when the status matches the regex WANT ('2..' for any success); else
# bench_fail. For uploads that set up a measurement.
bench_code() {
	local want=$1 code
	shift
	code=$(curl -s -o /dev/null -w '%{http_code}' "$@")
	[[ $code =~ ^($want)$ ]] && return 0
	echo "bench: curl ${*: -1}: answered ${code:-nothing}, not $want" >&2
	return 1
}

# median N...: the middle value (the mean of the two middle ones for an
# even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The machine may be shared and its disk is often virtual: a single run
# of each side says little. These run the subject and its baseline
# alternately BENCH_ROUNDS times, so that a slow spell hits both alike,
# and print the median of each ("subject baseline").
#
# bench_pair CMD_A CMD_B: each command prints one number, or nothing
# when it failed (it says why). A side with a failed round is "-" and is
# not run again.
bench_pair() { bench_rounds "$@"; }
# bench_rounds CMD...: as bench_pair, for any number of commands, run in
# turn each round; prints their medians in order.
bench_rounds() {
	local -a got=() failed=()
	local i x out=""
	for _ in $(seq 1 "${BENCH_ROUNDS:-5}"); do
		for ((i = 1; i <= $#; i++)); do
			[ "${failed[i]:-0}" = 0 ] || continue
			x=$(eval "${!i}")
			if is_num "$x"; then got[i]="${got[i]:-} $x"; else failed[i]=1; fi
		done
	done
	for ((i = 1; i <= $#; i++)); do
		# shellcheck disable=SC2086 # the figures, one word each
		if [ "${failed[i]:-0}" = 0 ]; then x=$(median ${got[i]}); else x=-; fi
		out="$out${out:+ }$x"
	done
	echo "$out"
}
# bench_wrk_pair A_URL A_HDR B_URL B_HDR: requests per second, rounds of
# BENCH_SECS_ROUND (2) seconds each.
bench_wrk_pair() {
	BENCH_SECS=${BENCH_SECS_ROUND:-2} bench_pair \
	    "bench_wrk '$1' '$2'" "bench_wrk '$3' '$4'"
}

# ratio A B: n/a unless both are figures (a failed side is "-").
ratio() {
	if is_num "$1" && is_num "$2"; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
	else
		echo n/a
	fi
}
# bench_rate BYTES CURL-CMD...: MiB/s of one transfer of BYTES. The
# command prints the status (-w '%{http_code}'); the figure is printed
# only for a 2xx.
bench_rate() {
	local bytes=$1 t0 t1 code
	shift
	t0=$(now_ns)
	code=$("$@")
	t1=$(now_ns)
	if [[ ! $code =~ ^2[0-9][0-9]$ ]]; then
		bench_fail "curl ${*: -1}" "answered ${code:-nothing}"
		return 1
	fi
	mbps "$bytes" $((t1 - t0))
}
# now_ns: a monotonic-enough wall clock for throughput.
now_ns() { date +%s%N; }
mbps() { awk -v bytes="$1" -v ns="$2" 'BEGIN { printf "%.1f", bytes / 1048576 / (ns / 1e9) }'; }
# bench_hwm PROGRAM: the largest peak RSS (VmHWM, KiB) of its workers.
bench_hwm() {
	local max=0 p v
	for p in $(cat "$FILESTOR_SOCK_DIR/$1.pid.workers"); do
		v=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}
# report WHAT VALUE BASELINE RATIO TARGET
report() { printf '%-58s %12s %12s %8s  %s\n' "$1" "$2" "$3" "$4" "$5"; }
