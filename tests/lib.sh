# tests/lib.sh: helpers for the integration tests (tests/t*.sh). Sourced
# by tests/run in a subshell per test file. Needs BASE, FILESTORCTL,
# RESULTS and TEST_TMP from tests/run.
#
#   req METHOD PATH [curl args...]  -> $STATUS, $TEST_TMP/body, headers
#   body / jqb FILTER / hdr NAME     -> what the last response held
#   check NAME CONDITION...          -> records a pass or a fail
#   expect_status CODE NAME          -> status check with the body on failure

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

# req METHOD PATH [curl args]: one request; -g keeps [] literal.
req() {
	local method=$1 path=$2
	shift 2
	local url=$path
	case "$url" in http*) ;; *) url=$BASE$path ;; esac
	: >"$TEST_TMP/headers"
	: >"$TEST_TMP/body"
	if [ "$method" = HEAD ]; then
		set -- -I "$@"
	else
		set -- -X "$method" "$@"
	fi
	STATUS=$(curl -sS -g -o "$TEST_TMP/body" -D "$TEST_TMP/headers" \
	    -w '%{http_code}' "$@" "$url" 2>"$TEST_TMP/curl.err") || STATUS=000
	export STATUS
}

body() { cat "$TEST_TMP/body"; }
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
