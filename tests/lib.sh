# tests/lib.sh: helpers for the integration tests (tests/t*.sh). Sourced
# by tests/run in a subshell per test file. Needs BASE, FILESTORCTL,
# RESULTS and TEST_TMP from tests/run.
#
#   req METHOD PATH [curl args...]  -> $STATUS, $TEST_TMP/body, headers
#   body / jqb FILTER / hdr NAME     -> what the last response held
#   check NAME CONDITION...          -> records a pass or a fail
#   expect_status CODE NAME          -> status check with the body on failure
#   tsql SQL                         -> rows of the suite's database (SQLite or
#                                       PostgreSQL; see below)

TEST_FILE=${TEST_FILE:-t}

pass() { echo "PASS $TEST_FILE: $1" >>"$RESULTS"; }
fail() {
	echo "FAIL $TEST_FILE: $1${2:+ ($2)}" >>"$RESULTS"
	echo "  FAIL $TEST_FILE: $1${2:+ ($2)}" >&2
}

# check NAME cmd args...: pass when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

# req METHOD PATH [curl args]: one request; -g keeps [] literal. With two
# front ends (tests/run HOSTS=2), every other PATH goes to the second, as
# a load balancer would: what one host wrote, the next request reads on
# the other. The Host header stays the first's, as behind a balancer (the
# Origin check compares with it). REQ_PIN=1 req ...: to the same host as
# the request before (a per-host cache hit). Resumable uploads keep to the
# first host, as docs/scale-out.md asks of a balancer: their stages are
# per host.
req() {
	local method=$1 path=$2
	shift 2
	local url=$path
	case "$url" in
	http*) ;;
	*)
		url=$BASE$path
		case $path in /api/uploads*) path="" ;; esac
		if [ -n "${BASE_B:-}" ] && [ -n "$path" ]; then
			[ "${REQ_PIN:-0}" = 1 ] || REQ_N=$(( ${REQ_N:-0} + 1 ))
			if [ $((REQ_N % 2)) -eq 0 ]; then
				url=$BASE_B$path
				case " ${*,,} " in
				*" host:"*) ;;
				*) set -- "$@" -H "Host: ${BASE#http://}" ;;
				esac
			fi
		fi ;;
	esac
	: >"$TEST_TMP/headers"
	: >"$TEST_TMP/body"
	if [ "$method" = HEAD ]; then
		set -- -I "$@"
	else
		set -- -X "$method" "$@"
	fi
	STATUS=$(curl -sS -g --path-as-is -o "$TEST_TMP/body" -D "$TEST_TMP/headers" \
	    -w '%{http_code}' "$@" "$url" 2>"$TEST_TMP/curl.err") || STATUS=000
	export STATUS
}

body() { cat "$TEST_TMP/body"; }

# raw_head PATH [HEADER]: send HEAD over a raw HTTP/1.0 connection and
# print how many bytes followed the header block (curl -I cannot tell).
raw_head() {
	local hostport=${BASE#http://}
	exec 5<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || return 1
	printf 'HEAD %s HTTP/1.0\r\nHost: %s\r\n%s\r\n' "$1" "$hostport" \
	    "${2:+$2$'\r\n'}" >&5
	cat <&5 | awk 'BEGIN { RS = "\r\n\r\n" } NR > 1 { n += length($0) } END { print n + 0 }'
	exec 5<&-
}
jqb() { jq -r "$@" <"$TEST_TMP/body" 2>/dev/null; }
# hdr NAME: value of the last response's header NAME (case-insensitive).
hdr() {
	tr -d '\r' <"$TEST_TMP/headers" |
	    awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" -F': ' '
		{ k = tolower($1); if (k == n) { sub(/^[^:]*: /, ""); print; exit } }'
}

# expect_status CODE NAME: check the status of the last request.
expect_status() {
	if [ "$STATUS" = "$1" ]; then
		pass "$2"
	else
		fail "$2" "want $1, got $STATUS: $(head -c 300 "$TEST_TMP/body")"
	fi
}

# expect_error CODE ERRCODE NAME: status plus the JSON error vocabulary.
expect_error() {
	local got
	got=$(jqb '.error.code')
	if [ "$STATUS" = "$1" ] && [ "$got" = "$2" ] &&
	    [ -n "$(jqb '.error.message // empty')" ] &&
	    [ "$(hdr Cache-Control)" = "no-store" ]; then
		pass "$3"
	else
		fail "$3" "want $1 $2, got $STATUS $(head -c 300 "$TEST_TMP/body") cc=$(hdr Cache-Control)"
	fi
}

eq() { [ "$1" = "$2" ] || { echo "    '$1' != '$2'" >&2; return 1; }; }
neq() { [ "$1" != "$2" ]; }
has() { case "$1" in *"$2"*) return 0 ;; esac; echo "    '$1' lacks '$2'" >&2; return 1; }

# --- the suite's database, FILESTOR_DB: a SQLite file, or PostgreSQL
# when it is a postgresql:// URI (issue 18; common/db.c db_is_pg_uri).
# The tests write SQL both engines read alike, with these for the rest:
# integers for flags (PostgreSQL prints a boolean as t or f), COALESCE,
# the epoch from $(date +%s), tsql_hex and tsql_blob for blobs.
#
#   tsql [SQL]       -> SQL's rows (the statements on stdin without SQL):
#                       one a line, columns between |, NULL empty
#   is_pg            -> 0 when the suite's database is PostgreSQL
#   tsql_hex EXPR    -> SQL for a blob's hex, upper case (SQLite's hex())
#   tsql_blob HEX    -> SQL for a blob literal of HEX (X'...')
#   tsql_columns TABLE -> TABLE's column names, one a line
#   tsql_dump        -> the whole database as text (.dump, pg_dump)
is_pg() {
	case "${FILESTOR_DB:-}" in postgresql://* | postgres://*) return 0 ;; esac
	return 1
}
# tsql_pgbin PROGRAM ARGS...: a client of the newest installed server
# (as tests/pg.sh's), else PROGRAM from PATH.
tsql_pgbin() {
	local p=$1
	shift
	if [ -z "${TSQL_PG_BIN+set}" ]; then
		TSQL_PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
	fi
	[ -x "$TSQL_PG_BIN/$p" ] && p=$TSQL_PG_BIN/$p
	"$p" "$@"
}
tsql() {
	if is_pg; then
		tsql_pgbin psql -X -q -At -v ON_ERROR_STOP=1 -d "$FILESTOR_DB" \
		    ${1+-c "$1"}
	else
		sqlite3 "$FILESTOR_DB" ${1+"$1"}
	fi
}
tsql_hex() {
	if is_pg; then echo "upper(encode($1, 'hex'))"; else echo "hex($1)"; fi
}
tsql_blob() {
	if is_pg; then echo "decode('$1', 'hex')"; else echo "X'$1'"; fi
}
tsql_columns() {
	if is_pg; then
		tsql "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '$1' ORDER BY ordinal_position"
	else
		tsql "SELECT name FROM pragma_table_info('$1')"
	fi
}
tsql_dump() {
	if is_pg; then
		tsql_pgbin pg_dump -d "$FILESTOR_DB"
	else
		sqlite3 "$FILESTOR_DB" .dump
	fi
}

# Fixtures: each prints the id (or key) it made.
mk_tenant() { "$FILESTORCTL" tenant create "${1:-t$RANDOM}"; }
mk_user() { # TID ROLE [PASSWORD] [EMAIL]
	local email=${4:-u$RANDOM$RANDOM@example.com}
	if [ -n "${3:-}" ]; then
		printf '%s\n' "$3" | "$FILESTORCTL" user create "$email" \
		    --tenant "$1" --role "$2" --password-stdin
	else
		"$FILESTORCTL" user create "$email" --tenant "$1" --role "$2"
	fi
}
mk_key() { "$FILESTORCTL" apikey create --tenant "$1" --user "$2" 2>/dev/null; }
# mk_two_users NAME: a tenant NAME with two authenticated users, each with
# an API key: sets TID, UA, UB, KA, KB and the curl arguments A and B.
mk_two_users() {
	TID=$(mk_tenant "$1")
	UA=$(mk_user "$TID" authenticated)
	UB=$(mk_user "$TID" authenticated)
	KA=$(mk_key "$TID" "$UA")
	KB=$(mk_key "$TID" "$UB")
	A=(-H "Authorization: Bearer $KA")
	B=(-H "Authorization: Bearer $KB")
}

# --- tokens (DESIGN §6), minted here independently of the C code
b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# b64u_dec TEXT: the bytes of base64url TEXT (padding optional).
b64u_dec() {
	local s
	s=$(printf '%s' "$1" | tr '_-' '/+')
	while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
	printf '%s' "$s" | base64 -d
}
hexof() { od -An -tx1 -v | tr -d ' \n'; }
# mint_token PHYSICAL_KEY TENANT EXP [SECRET]
mint_token() {
	local k p sig
	k=$(printf 'filestor storage-url v1' |
	    openssl dgst -sha256 -mac HMAC -macopt "key:${4:-$AUTH_SECRET}" -binary | hexof)
	p=$(printf '{"k":"%s","t":"%s","exp":%s}' "$1" "$2" "$3" | b64u)
	sig=$(printf '%s' "$p" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$k" -binary | b64u)
	printf '%s.%s' "$p" "$sig"
}

# --- a second server on the same database and data, with other settings
# start_server2 VAR=VALUE...: sets BASE2; stop_server2 stops it.
start_server2() {
	local port
	port=$(serve_free_port) || return 1
	# A fresh run dir each time: a stopped Apache's mod_fcgid workers
	# may linger a moment, and must not be found through a reused IPC
	# directory by the next server (they have the old settings).
	SERVER2_SEQ=$(( ${SERVER2_SEQ:-0} + 1 ))
	RUN2=$TEST_TMP/run2.$SERVER2_SEQ
	(
		# Its relay's own peer port, unless the caller names one: the
		# suite's host's (tests/run HOSTS=2) is taken.
		if [ -n "${RELAY_PEER_ADDR:-}" ]; then
			RELAY_PEER_ADDR=127.0.0.1:$(serve_free_port) || exit 1
		fi
		for kv in "$@"; do export "${kv?}"; done
		export FILESTOR_RUN_DIR=$RUN2
		# Its own log: a test may kill its workers on purpose, which
		# must not count as a crash of the suite's server (tests/run).
		export FILESTOR_LOG=$RUN2/workers.log
		unset FILESTOR_SOCK_DIR RELAY_SOCKET RELAY_AGENT_SOCKET
		serve_env "$FILESTOR_BUILD" "$FILESTOR_STATE" "$port" || exit 1
		echo "$FILESTOR_SOCK_DIR" >"$RUN2.sock"
		serve_start || exit 1
		echo "$SERVE_PID" >"$RUN2.pid"
		echo "$SERVE_RELAY_PID" >"$RUN2.relay"
	) || return 1
	BASE2="http://127.0.0.1:$port"
}
stop_server2() {
	local pid i
	if [ -f "$RUN2.pid" ]; then
		pid=$(cat "$RUN2.pid")
		kill "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	# Its relay (tools/serve.sh), which outlived the subshell.
	if [ -s "$RUN2.relay" ]; then
		pid=$(cat "$RUN2.relay")
		kill "$pid" 2>/dev/null
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ -s "$RUN2.sock" ]; then
		FILESTOR_SOCK_DIR=$(cat "$RUN2.sock") "$FILESTOR_TOP/spawn-fcgi/stop"
		case $(cat "$RUN2.sock") in
		*/filestor-*/sock) rm -rf "$(dirname "$(cat "$RUN2.sock")")" ;;
		esac
	fi
	rm -f "$RUN2.pid" "$RUN2.sock" "$RUN2.relay"
}
# shellcheck source=tools/serve.sh
. "$FILESTOR_TOP/tools/serve.sh"

# --- the stored object behind a physical key, whichever adapter holds it
# (STORE=local: the file under FILESTOR_DATA_DIR; STORE=s3: the bucket,
# read and written straight through s3rver, signed like the adapter).
[ "${STORE:-local}" = s3 ] && . "$FILESTOR_TOP/tests/s3.sh"
s3_url() { printf '%s/%s/%s' "$S3_ENDPOINT" "$S3_BUCKET" "$(printf '%s' "$1" | jq -sRr @uri | sed 's/%2F/\//g')"; }
# obj_get PKEY OUT: copy the object's bytes to OUT; fails when missing.
obj_get() {
	if [ "${STORE:-local}" = s3 ]; then
		[ "$(s3_curl -o "$2" -w '%{http_code}' "$(s3_url "$1")")" = 200 ]
	else
		cp "$FILESTOR_DATA_DIR/$1" "$2" 2>/dev/null
	fi
}
# obj_put PKEY FILE: replace the object's bytes behind the database's back.
obj_put() {
	if [ "${STORE:-local}" = s3 ]; then
		[ "$(s3_curl -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$2" "$(s3_url "$1")")" = 200 ]
	else
		cp "$2" "$FILESTOR_DATA_DIR/$1"
	fi
}
# obj_same PKEY FILE: the stored object has exactly FILE's bytes.
obj_same() { obj_get "$1" "$TEST_TMP/.obj" && cmp -s "$TEST_TMP/.obj" "$2"; }
# obj_absent PKEY: no object (s3: HEAD answers 404).
obj_absent() {
	if [ "${STORE:-local}" = s3 ]; then
		[ "$(s3_curl -o /dev/null -w '%{http_code}' -I "$(s3_url "$1")")" = 404 ]
	else
		test ! -e "$FILESTOR_DATA_DIR/$1"
	fi
}
# s3_uploads: multipart uploads s3rver holds in progress (it keeps each in
# <dir>/<bucket>/._S3rver_uploads/<upload id>/ until it is completed).
s3_uploads() { find "$S3_TEST_DIR/$S3_BUCKET/._S3rver_uploads" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }

# wait_for SECONDS CMD...: poll until CMD succeeds; 1 after SECONDS.
wait_for() {
	local end=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	while [ $(($(date +%s%N) / 1000000)) -lt $end ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# --- filestor-agent under test (t06, t07): AORIGIN, AGENT_PID
# agent_wait: 0 once the agent at AORIGIN answers /healthz; 1 when
# AGENT_PID dies first, or after 5 s.
agent_wait() {
	for _ in $(seq 1 50); do
		curl -s -o /dev/null "$AORIGIN/healthz" && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_agent() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
		AGENT_PID=
	fi
}
