# Identity and auth: filestorctl, API keys, sessions, CSRF, bad input.

TID=$(mk_tenant acme)
check "tenant create prints a uuid" eq "$(printf '%s' "$TID" | grep -cE '^[0-9a-f-]{36}$')" 1
UID_A=$(mk_user "$TID" admin 's3cret-passw0rd' alice@example.com)
check "user create prints a uuid" eq "$(printf '%s' "$UID_A" | grep -cE '^[0-9a-f-]{36}$')" 1
KEY=$(mk_key "$TID" "$UID_A")
check "apikey create prints fs_ key" has "$KEY" "fs_"

# --- filestorctl errors go to stderr with a non-zero exit
out=$("$FILESTORCTL" user create not-an-email --tenant "$TID" --role admin 2>"$TEST_TMP/err"); rc=$?
check "ctl: bad email fails" neq "$rc" 0
check "ctl: bad email says why on stderr" has "$(cat "$TEST_TMP/err")" "email"
check "ctl: nothing on stdout on error" eq "$out" ""
"$FILESTORCTL" user create bob@example.com --tenant "$TID" --role nosuch >/dev/null 2>&1
check "ctl: unknown role fails" neq "$?" 0
"$FILESTORCTL" apikey create --tenant "$TID" >/dev/null 2>&1
check "ctl: apikey without --user fails" neq "$?" 0
"$FILESTORCTL" frobnicate >/dev/null 2>&1
check "ctl: unknown command fails" neq "$?" 0
"$FILESTORCTL" user create x@example.com --tenant not-a-uuid --role admin >/dev/null 2>&1
check "ctl: bad tenant id fails" neq "$?" 0
"$FILESTORCTL" user create alice@example.com --tenant "$TID" --role admin >/dev/null 2>&1
check "ctl: duplicate membership fails" neq "$?" 0

# --- /me with an API key
req GET /api/auth/me -H "Authorization: Bearer $KEY"
expect_status 200 "me with API key"
check "me: user id" eq "$(jqb .user.id)" "$UID_A"
check "me: email" eq "$(jqb .user.email)" "alice@example.com"
check "me: tenant" eq "$(jqb .tenant.id)" "$TID"
check "me: tenant name" eq "$(jqb .tenant.name)" "acme"
check "me: role" eq "$(jqb .role.name)" "admin"
check "me: via" eq "$(jqb .via)" "apikey"

req GET /api/auth/me
expect_error 401 UNAUTHORIZED "me without credentials"
req GET /api/auth/me -H "Authorization: Bearer fs_nope"
expect_error 401 UNAUTHORIZED "me with an unknown key"
req GET /api/auth/me -H "Authorization: Basic YTpi"
expect_error 401 UNAUTHORIZED "me with a Basic header"
req GET /api/auth/me -H "Authorization: Bearer $(head -c 3000 /dev/zero | tr '\0' a)"
expect_error 401 UNAUTHORIZED "me with an oversized key"

# --- revocation
KEY2=$(mk_key "$TID" "$UID_A")
KID2=$("$FILESTORCTL" apikey list --tenant "$TID" | awk -F'\t' 'NR>1 {id=$1} END {print id}')
check "ctl: apikey list shows the new key last" has "$("$FILESTORCTL" apikey list --tenant "$TID" | tail -n 1)" "active"
req GET /api/auth/me -H "Authorization: Bearer $KEY2"
expect_status 200 "second key works"
"$FILESTORCTL" apikey revoke "$KID2"
check "ctl: revoke exits 0" eq "$?" 0
req GET /api/auth/me -H "Authorization: Bearer $KEY2"
expect_error 401 UNAUTHORIZED "revoked key refused"
check "revoked key message" has "$(jqb .error.message)" "revoked"
check "ctl: list shows revoked" has "$("$FILESTORCTL" apikey list --tenant "$TID")" "revoked"
out=$("$FILESTORCTL" apikey list --tenant "$TID" stray 2>"$TEST_TMP/err"); rc=$?
check "ctl: apikey list refuses a stray argument" neq "$rc" 0
check "... with its usage on stderr, nothing on stdout" eq "$(head -c 19 "$TEST_TMP/err")$out" "usage: filestorctl "
"$FILESTORCTL" apikey revoke "$KID2" 2>/dev/null
check "ctl: revoking twice fails" neq "$?" 0
req GET /api/auth/me -H "Authorization: Bearer $KEY"
expect_status 200 "first key unaffected by revoking the second"

# --- login
req POST /api/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"alice@example.com","password":"s3cret-passw0rd"}' -c "$TEST_TMP/jar"
expect_status 200 "login"
SC=$(hdr Set-Cookie)
check "login sets filestor_session" has "$SC" "filestor_session="
check "cookie HttpOnly" has "$SC" "HttpOnly"
check "cookie SameSite=Lax" has "$SC" "SameSite=Lax"
check "cookie Path=/" has "$SC" "Path=/"
check "login returns the user" eq "$(jqb .user.id)" "$UID_A"
check "login is not cached" eq "$(hdr Cache-Control)" "no-store"
CK=$(awk '$6 == "filestor_session" {print $7}' "$TEST_TMP/jar")
check "session value is 43 chars" eq "${#CK}" 43
# Neither the value's bytes nor the value read as hex.
check "session stored hashed" eq "$(tsql "SELECT count(*) FROM sessions WHERE $(tsql_hex token_hash) IN ('$(printf '%s' "$CK" | hexof | tr a-f A-F)', upper('$CK'))")" 0

req GET /api/auth/me -b "$TEST_TMP/jar"
expect_status 200 "me with session"
check "me via session" eq "$(jqb .via)" "session"

# CSRF: a cookie-authenticated state change needs Origin == Host or X-Requested-With
req POST /api/auth/logout --data "" -b "$TEST_TMP/jar" -H "Origin: http://evil.example"
expect_error 403 FORBIDDEN "logout from a foreign Origin refused"
req POST /api/auth/logout --data "" -b "$TEST_TMP/jar"
expect_error 403 FORBIDDEN "logout with no Origin and no X-Requested-With refused"
# The Origin must be Host exactly, not a name or port that starts with it:
# another port, one more digit, the host as a subdomain of another name.
HP=${BASE#http://}
for o in "http://${HP%:*}:1" "${BASE}1" "http://${HP%:*}.evil.example:${HP##*:}" \
    "$BASE.evil.example"; do
	req POST /api/auth/logout --data "" -b "$TEST_TMP/jar" -H "Origin: $o"
	expect_error 403 FORBIDDEN "logout from Origin $o refused"
	# A wrong accept ended the session: a new one, so that each case
	# is judged on its own.
	[ "$STATUS" = 403 ] || req POST /api/auth/login -H 'Content-Type: application/json' \
	    -d '{"email":"alice@example.com","password":"s3cret-passw0rd"}' -c "$TEST_TMP/jar"
done
req GET /api/auth/me -b "$TEST_TMP/jar"
expect_status 200 "session survives refused logouts"
req POST /api/auth/logout --data "" -b "$TEST_TMP/jar" -H "Origin: $BASE"
expect_status 204 "logout with matching Origin"
check "logout clears the cookie" has "$(hdr Set-Cookie)" "Max-Age=0"
req GET /api/auth/me -b "$TEST_TMP/jar"
expect_error 401 UNAUTHORIZED "session gone after logout"

req POST /api/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"alice@example.com","password":"s3cret-passw0rd"}' -c "$TEST_TMP/jar2"
req POST /api/auth/logout --data "" -b "$TEST_TMP/jar2" -H "X-Requested-With: XMLHttpRequest"
expect_status 204 "logout with X-Requested-With"

# Expired session: age the row in the database.
req POST /api/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"alice@example.com","password":"s3cret-passw0rd"}' -c "$TEST_TMP/jar3"
tsql "UPDATE sessions SET expires_at = $(($(date +%s) - 1))"
req GET /api/auth/me -b "$TEST_TMP/jar3"
expect_error 401 UNAUTHORIZED "expired session refused"

# --- wrong password and unknown email answer the same (the same
# X-Request-Id, which the error body names)
req POST /api/auth/login -H 'Content-Type: application/json' \
    -H 'X-Request-Id: t01-login' -d '{"email":"alice@example.com","password":"wrong"}'
expect_error 401 UNAUTHORIZED "wrong password"
wp=$(body)
req POST /api/auth/login -H 'Content-Type: application/json' \
    -H 'X-Request-Id: t01-login' -d '{"email":"nobody@example.com","password":"wrong"}'
expect_error 401 UNAUTHORIZED "unknown email"
check "wrong password and unknown email: same body" eq "$(body)" "$wp"

# --- tenants
T2=$(mk_tenant other)
"$FILESTORCTL" user create alice@example.com --tenant "$T2" --role authenticated >/dev/null
req POST /api/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"alice@example.com","password":"s3cret-passw0rd"}'
expect_error 422 VALIDATION "login of a multi-tenant user needs tenantId"
req POST /api/auth/login -H 'Content-Type: application/json' \
    -d "{\"email\":\"alice@example.com\",\"password\":\"s3cret-passw0rd\",\"tenantId\":\"$T2\"}"
expect_status 200 "login into the second tenant"
check "second tenant role" eq "$(jqb .role.name)" "authenticated"
req POST /api/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"alice@example.com","password":"s3cret-passw0rd","tenantId":"00000000-0000-4000-8000-000000000000"}'
expect_error 401 UNAUTHORIZED "login into an unknown tenant"
req POST /api/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"alice@example.com","password":"s3cret-passw0rd","tenantId":"acme"}'
expect_error 422 VALIDATION "login with a malformed tenantId"

# --- bad input
req POST /api/auth/login -H 'Content-Type: application/json' -d '{"email":'
expect_error 400 BAD_REQUEST "malformed JSON"
req POST /api/auth/login -H 'Content-Type: application/json' -d '[1,2]'
expect_error 400 BAD_REQUEST "JSON array body"
req POST /api/auth/login -H 'Content-Type: application/json' --data ""
expect_error 400 BAD_REQUEST "empty body"
req POST /api/auth/login -H 'Content-Type: application/json' -d '{"email":"a@b.c"}'
expect_error 422 VALIDATION "missing password"
check "missing password names the field" has "$(jqb .error.message)" "password"
req POST /api/auth/login -H 'Content-Type: application/json' -d '{"email":5,"password":"x"}'
expect_error 422 VALIDATION "email of the wrong type"
head -c 100000 /dev/zero | tr '\0' ' ' >"$TEST_TMP/big"
req POST /api/auth/login -H 'Content-Type: application/json' --data-binary @"$TEST_TMP/big"
expect_error 413 PAYLOAD_TOO_LARGE "oversized body"
req GET /api/auth/login
expect_error 405 BAD_REQUEST "GET on login is 405"
check "405 carries Allow" eq "$(hdr Allow)" "POST"
req DELETE /api/auth/me
expect_error 405 BAD_REQUEST "DELETE on me is 405"
check "405 Allow on me" eq "$(hdr Allow)" "GET, HEAD"
req GET /api/nosuch
expect_error 404 NOT_FOUND "unknown /api route is a JSON 404"
req GET "/api/auth/me%zz"
check "malformed escape is a 400" eq "$STATUS" 400
req GET /api/auth/me -H "Authorization: Bearer $KEY"
expect_status 200 "worker still serves after bad input"

# --- programs refuse to start without a usable secret or database
out=$(env -u AUTH_SECRET "$FILESTOR_BUILD/cgi-bin/auth" 2>&1 </dev/null); rc=$?
check "no AUTH_SECRET: refuses to start" neq "$rc" 0
check "no AUTH_SECRET: says why" has "$out" "AUTH_SECRET is not set"
out=$(AUTH_SECRET=short "$FILESTOR_BUILD/cgi-bin/get" 2>&1 </dev/null); rc=$?
check "short AUTH_SECRET: refuses to start" neq "$rc" 0
check "short AUTH_SECRET: says why" has "$out" "at least 32"
sqlite3 "$TEST_TMP/empty.db" "PRAGMA user_version = 0;"
out=$(FILESTOR_DB=$TEST_TMP/empty.db "$FILESTOR_BUILD/cgi-bin/list" 2>&1 </dev/null); rc=$?
check "unmigrated database: refuses to start" neq "$rc" 0
check "unmigrated database: says to migrate" has "$out" "filestorctl migrate"
out=$(FILESTOR_DB=$TEST_TMP/empty.db "$FILESTORCTL" tenant list 2>&1); rc=$?
check "ctl on an unmigrated database fails" neq "$rc" 0
FILESTOR_DB=$TEST_TMP/empty.db "$FILESTORCTL" migrate 2>/dev/null
check "ctl migrate applies the migrations" eq "$(sqlite3 "$TEST_TMP/empty.db" 'SELECT count(*) FROM schema_migrations')" "$(ls "$FILESTOR_TOP"/sql/*.sql | wc -l)"
FILESTOR_DB=$TEST_TMP/empty.db "$FILESTORCTL" migrate 2>/dev/null
check "ctl migrate twice is a no-op" eq "$(sqlite3 "$TEST_TMP/empty.db" 'SELECT count(*) FROM schema_migrations')" "$(ls "$FILESTOR_TOP"/sql/*.sql | wc -l)"
if is_pg; then
	# The same on PostgreSQL (the above is SQLite's, on either suite): an
	# empty schema of the suite's database, first in the URI's search_path.
	tsql "SET client_min_messages = warning; DROP SCHEMA IF EXISTS t01_empty CASCADE; CREATE SCHEMA t01_empty"
	case $FILESTOR_DB in *\?*) EMPTY_PG=$FILESTOR_DB\& ;; *) EMPTY_PG=$FILESTOR_DB\? ;; esac
	EMPTY_PG+="options=-csearch_path%3Dt01_empty"
	out=$(FILESTOR_DB=$EMPTY_PG "$FILESTOR_BUILD/cgi-bin/list" 2>&1 </dev/null); rc=$?
	check "unmigrated database (PostgreSQL): refuses to start" neq "$rc" 0
	check "unmigrated database (PostgreSQL): says to migrate" has "$out" "filestorctl migrate"
	out=$(FILESTOR_DB=$EMPTY_PG "$FILESTORCTL" tenant list 2>&1); rc=$?
	check "ctl on an unmigrated database (PostgreSQL) fails" neq "$rc" 0
	FILESTOR_DB=$EMPTY_PG "$FILESTORCTL" migrate 2>/dev/null
	check "ctl migrate (PostgreSQL) applies the migrations" eq "$(FILESTOR_DB=$EMPTY_PG tsql 'SELECT count(*) FROM schema_migrations')" "$(ls "$FILESTOR_TOP"/sql/pg/*.sql | wc -l)"
	FILESTOR_DB=$EMPTY_PG "$FILESTORCTL" migrate 2>/dev/null
	check "ctl migrate (PostgreSQL) twice is a no-op" eq "$(FILESTOR_DB=$EMPTY_PG tsql 'SELECT count(*) FROM schema_migrations')" "$(ls "$FILESTOR_TOP"/sql/pg/*.sql | wc -l)"
	check "ctl migrate (PostgreSQL): in that schema" eq "$(FILESTOR_DB=$EMPTY_PG tsql 'SELECT current_schema()')" t01_empty
	tsql "SET client_min_messages = warning; DROP SCHEMA t01_empty CASCADE"
fi
# (The suite's own database: SQLite's mode, or PostgreSQL's migrations.)
if is_pg; then
	check "database (PostgreSQL) has every migration" eq "$(tsql 'SELECT count(*) FROM schema_migrations')" "$(ls "$FILESTOR_TOP"/sql/pg/*.sql | wc -l)"
else
	check "database is in WAL mode" eq "$(tsql 'PRAGMA journal_mode')" "wal"
fi

# --- failed logins are limited per email (in a tenant) and per client
# address, across workers (the count is in the database), with 429 and
# Retry-After; a success resets the email's count. A second server with
# small limits and an 8-second window (a loaded machine spends seconds on the logins' scrypt).
login() { # EMAIL PASSWORD [BASE]
	req POST "${3:-$BASE2}/api/auth/login" -H 'Content-Type: application/json' \
	    -d "{\"email\":\"$1\",\"password\":\"$2\"}"
}
TL=$(mk_tenant limits)
mk_user "$TL" admin 'right-passw0rd' limit@example.com >/dev/null
tsql "DELETE FROM login_failures"
if start_server2 LOGIN_MAX_FAILURES=3 LOGIN_MAX_FAILURES_PER_ADDR=8 LOGIN_WINDOW_SECONDS=8; then
	for i in 1 2 3; do login limit@example.com wrong; done
	expect_error 401 UNAUTHORIZED "limits: a third wrong password is still 401"
	login limit@example.com right-passw0rd
	expect_error 429 TOO_MANY_REQUESTS "limits: after 3 failures even the right password gets 429"
	ra=$(hdr Retry-After)
	check "limits: Retry-After within the window ($ra)" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 8
	check "limits: the message says to wait" has "$(jqb .error.message)" "try again"
	check "limits: the count is in the database" eq \
	    "$(tsql "SELECT failures FROM login_failures WHERE scope LIKE 'u%limit@example.com%'")" 3
	# (Right after the 429, well inside the window on a loaded machine.)
	login LIMIT@example.com wrong
	expect_error 429 TOO_MANY_REQUESTS "limits: the email's case does not matter"
	for i in 1 2 3; do login nobody@example.com wrong; done
	login nobody@example.com wrong
	expect_error 429 TOO_MANY_REQUESTS "limits: an unknown email is limited the same way"
	sleep 8.2
	login limit@example.com right-passw0rd
	expect_status 200 "limits: after the window the right password works"
	login limit@example.com wrong
	login limit@example.com wrong
	login limit@example.com right-passw0rd
	expect_status 200 "limits: two failures, then a success"
	login limit@example.com wrong
	login limit@example.com wrong
	expect_error 401 UNAUTHORIZED "limits: a success reset the count"
	# Per address: 8 failures in all from here (3 + 2 + 2 so far in this
	# window at most), whatever the emails.
	sleep 8.2
	for i in 1 2 3 4 5 6 7 8; do login "spray$i@example.com" wrong; done
	login fresh@example.com wrong
	expect_error 429 TOO_MANY_REQUESTS "limits: one address spraying many emails gets 429"
	stop_server2
else
	fail "limits: second server started"
fi
NL=$'\n'
tsql "INSERT INTO login_failures VALUES ('u${NL}old@example.com${NL}*', 1000, 5)"
# As the service user, like an operator's timer: gc makes the data dir's
# .tmp/ when missing, which root would own (docs/operations.md).
asu=()
[ "$(id -u)" -eq 0 ] && asu=(setpriv --reuid="$FILESTOR_USER" --regid="$FILESTOR_USER" --init-groups --)
check "gc removes failure counts whose window ended long ago" has "$("${asu[@]}" "$FILESTORCTL" gc 2>&1)" "logins: expired failure counts 1"
check "gc kept the current counts" test "$(tsql "SELECT count(*) FROM login_failures")" -ge 1
