# t18-webapp: the web app (www/, issue 17). Static serving (CSP, caching,
# nothing else of the document root), the API it adds (API keys, the
# tenant choice at login), then the app itself end to end in Debian's
# headless chromium, driven by playwright-core, with axe-core on every
# screen (tests/web/app.mjs). Screenshots go to BUILD/web-screens/SERVER.

# --- static serving
req GET /
expect_status 200 "app: / serves index.html"
check "app: index.html is text/html" has "$(hdr Content-Type)" "text/html"
check "app: index.html is no-cache" eq "$(hdr Cache-Control)" "no-cache"
CSP=$(hdr Content-Security-Policy)
check "app: CSP default-src 'self'" has "$CSP" "default-src 'self'"
check "app: CSP frame-ancestors 'none'" has "$CSP" "frame-ancestors 'none'"
check "app: CSP frames only blob: (the PDF viewer)" has "$CSP" "frame-src blob:;"
check "app: CSP allows no inline script or style" eq "$(printf '%s' "$CSP" | grep -c "unsafe-inline\|unsafe-eval")" 0
check "app: nosniff" eq "$(hdr X-Content-Type-Options)" "nosniff"
JS=$(grep -o '/assets/[0-9a-f]\{12\}/app\.js' "$TEST_TMP/body")
check "app: index.html names a hashed app.js" neq "$JS" ""
req GET "$JS"
expect_status 200 "app: app.js is served"
check "app: app.js is JavaScript" has "$(hdr Content-Type)" "text/javascript"
check "app: assets are immutable" eq "$(hdr Cache-Control)" "public, max-age=31536000, immutable"
check "app: assets carry the CSP" has "$(hdr Content-Security-Policy)" "frame-ancestors 'none'"
check "app: no innerHTML in the app" eq "$(grep -l 'innerHTML\|outerHTML\|insertAdjacentHTML\|document\.write' www/*.js | wc -l)" 0
req GET /index.html
expect_status 200 "app: /index.html is served"
for p in /assets/ /www/index.html /tools/build-www /assets/nothere.js "${JS%app.js}nothere.js" /etc/passwd; do
	req GET "$p"
	check "app: $p is not served" has "404 403" "$STATUS"
done

# --- login: the tenant choice
PW="web-$RANDOM-pass"
EMAIL="web$RANDOM$RANDOM@example.com"
TID=$(mk_tenant "Web tenant")
TID2=$(mk_tenant "Other tenant")
UID_A=$(mk_user "$TID" admin "$PW" "$EMAIL")
UID_A2=$(mk_user "$TID2" authenticated "" "$EMAIL")	# a second membership
login() { # EMAIL PASSWORD [TENANT]
	req POST /api/auth/login -H 'Content-Type: application/json' \
	    --data "{\"email\":\"$1\",\"password\":\"$2\"${3:+,\"tenantId\":\"$3\"}}"
}
login "$EMAIL" "$PW"
expect_error 422 VALIDATION "login: several tenants is 422"
check "login: 422 lists both tenants" eq "$(jqb '[.error.tenants[].name] | sort | join(",")')" "Other tenant,Web tenant"
check "login: the tenant ids" eq "$(jqb "[.error.tenants[] | select(.name == \"Web tenant\") | .id] | .[0]")" "$TID"
login "$EMAIL" "wrong-$PW"
expect_error 401 UNAUTHORIZED "login: a wrong password lists no tenants"
check "login: no tenant in a 401" eq "$(jqb '.error.tenants // "none"')" "none"
login "$EMAIL" "$PW" "$TID"
expect_status 200 "login: with the tenant chosen"

# --- API keys: GET/POST /api/auth/keys, DELETE /api/auth/keys/<id>
U2=$(mk_user "$TID" authenticated "$PW")
KADM=$(mk_key "$TID" "$UID_A")
KU2=$(mk_key "$TID" "$U2")
ADM=(-H "Authorization: Bearer $KADM")
USR=(-H "Authorization: Bearer $KU2")
req POST /api/auth/keys "${USR[@]}" -H 'Content-Type: application/json' --data '{"name":"laptop"}'
expect_status 201 "keys: create"
NEWKEY=$(jqb .key)
NEWID=$(jqb .id)
check "keys: the key is shown" has "$NEWKEY" "fs_"
check "keys: create is no-store" eq "$(hdr Cache-Control)" "no-store"
check "keys: create names it" eq "$(jqb .name)" "laptop"
req GET /api/auth/me -H "Authorization: Bearer $NEWKEY"
check "keys: the new key works" eq "$(jqb .user.id)" "$U2"
req POST /api/auth/keys "${USR[@]}" --data ''
expect_status 201 "keys: an empty body makes an unnamed key"
req POST /api/auth/keys "${USR[@]}" -H 'Content-Type: application/json' --data '{"name":"x","user":"y"}'
expect_error 422 VALIDATION "keys: unknown field refused"
req POST /api/auth/keys "${USR[@]}" -H 'Content-Type: application/json' --data "{\"name\":\"$(head -c 101 /dev/zero | tr '\0' a)\"}"
expect_error 422 VALIDATION "keys: a 101-byte name refused"
req POST /api/auth/keys "${USR[@]}" -H 'Content-Type: application/json' --data '{"name":5}'
expect_error 422 VALIDATION "keys: a number for name refused"
req GET /api/auth/keys "${USR[@]}"
expect_status 200 "keys: list own"
check "keys: a user sees only their keys" eq "$(jqb "[.items[] | select(.userId != \"$U2\")] | length")" 0
check "keys: the list holds no secret" eq "$(grep -c 'fs_' "$TEST_TMP/body")" 0
check "keys: laptop listed" eq "$(jqb "[.items[] | select(.id == \"$NEWID\")] | length")" 1
req GET /api/auth/keys "${ADM[@]}"
check "keys: an admin sees the tenant's" eq "$(jqb "([.items[] | select(.userId == \"$U2\")] | length > 0) and ([.items[] | select(.userId == \"$UID_A\")] | length > 0)")" true
req GET '/api/auth/keys?all=1' "${USR[@]}"
expect_error 422 VALIDATION "keys: query parameters refused"
ADMKEYID=$(tsql "SELECT id FROM api_keys WHERE user_id = '$UID_A' AND tenant_id = '$TID' LIMIT 1")
req DELETE "/api/auth/keys/$ADMKEYID" "${USR[@]}"
expect_error 404 NOT_FOUND "keys: a user cannot revoke another's key"
OTHER=$(mk_key "$TID2" "$UID_A2")
OTHERID=$(tsql "SELECT id FROM api_keys WHERE tenant_id = '$TID2' LIMIT 1")
req DELETE "/api/auth/keys/$OTHERID" "${ADM[@]}"
expect_error 404 NOT_FOUND "keys: an admin cannot revoke another tenant's key"
req GET /api/auth/me -H "Authorization: Bearer $OTHER"
expect_status 200 "keys: the other tenant's key still works"
req DELETE /api/auth/keys/nope "${USR[@]}"
expect_error 404 NOT_FOUND "keys: a bad id is 404"
req DELETE "/api/auth/keys/$NEWID" "${USR[@]}"
expect_status 204 "keys: revoke own"
req DELETE "/api/auth/keys/$NEWID" "${USR[@]}"
expect_error 404 NOT_FOUND "keys: revoking twice is 404"
req GET /api/auth/me -H "Authorization: Bearer $NEWKEY"
expect_error 401 UNAUTHORIZED "keys: a revoked key is refused"
req GET /api/auth/keys
expect_error 401 UNAUTHORIZED "keys: anonymous refused"
req PUT /api/auth/keys "${USR[@]}"
check "keys: PUT is 405" eq "$STATUS" 405
check "keys: Allow" eq "$(hdr Allow)" "GET, HEAD, POST"
req POST /api/auth/keys -H 'Content-Type: application/json' --data '{}' \
    -H "Cookie: filestor_session=x"
check "keys: a bad cookie is refused" eq "$STATUS" 401

# --- stored HTML and SVG never run in the app's origin (common/sget.c)
# (in the other tenant, so that the app's listing below stays empty)
printf '<script>parent.pwned=1</script>' >"$TEST_TMP/x.html"
for t in text/html image/svg+xml; do
	req PUT "/api/storage/web/active-$RANDOM" -H "Authorization: Bearer $OTHER" \
	    -H "Content-Type: $t" --data-binary @"$TEST_TMP/x.html"
	k=$(jqb .key)
	req GET "/api/storage/$k" -H "Authorization: Bearer $OTHER"
	check "download: $t is an attachment" has "$(hdr Content-Disposition)" "attachment"
	check "download: $t is sandboxed" eq "$(hdr Content-Security-Policy)" "sandbox"
	check "download: $t nosniff" eq "$(hdr X-Content-Type-Options)" "nosniff"
done

# --- a real filestor-agent for the agents page, connected to the relay,
# with an allowed root holding files to browse and download; stopped on
# success, failure and Ctrl-C (the EXIT trap here, and tests/run's sweep
# of everything started under its FILESTOR_RUN_DIR).
AGENT_BIN=$FILESTOR_BUILD/filestor-agent
AGENT_PID=
APORT=$(serve_free_port)
export XDG_CONFIG_HOME=$TEST_TMP/xdg18
trap stop_agent EXIT
ROOT=$TEST_TMP/share18
mkdir -p "$ROOT/docs"
for n in a b c; do printf '%s\n' "$n" >"$ROOT/$n.txt"; done
head -c 300000 /dev/urandom >"$ROOT/docs/report.bin"
ET=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
AGENT_ID=$("$AGENT_BIN" enroll --server "$BASE" --token "$ET" --name web-agent \
    --allowed-roots "$ROOT" 2>>"$TEST_TMP/agent18.log")
check "agents: one enrolled for the page" eq "$(printf '%s' "$AGENT_ID" | grep -cE '^[0-9a-f-]{36}$')" 1
"$AGENT_BIN" run --listen "127.0.0.1:$APORT" 2>>"$TEST_TMP/agent18.log" &
AGENT_PID=$!
agent_online() {
	req GET /api/agents "${ADM[@]}"
	[ "$(jqb --arg id "$AGENT_ID" '.items[] | select(.id == $id) | .online')" = true ]
}
check "agents: the agent runs and is online" wait_for 15 agent_online

# --- the app in chromium
# Ctrl-C: the browser scripts run in the foreground of this process group
# (timeout --foreground), so that they get it and close their browsers;
# they then exit 130 (143 for TERM), which bash takes as handled: this
# file stops on that too (its EXIT trap stops the agent) rather than going
# on against a stopped server.
# web_script WHAT ERRFILE CMD...: run a browser script; each of its
# "PASS name" / "FAIL name: why" lines is a check, and WHAT one more
# that it exited 0 (else the tail of its stderr, ERRFILE, is shown).
web_script() {
	local what=$1 err=$2 rc line
	shift 2
	"$@" 2>"$err" |
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "web: ${line#PASS }" ;;
		"FAIL "*) fail "web: ${line#FAIL }" ;;
		*) printf '  %s\n' "$line" >&2 ;;
		esac
	done
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		pass "web: $what"
	else
		fail "web: $what" "exit $rc"
		tail -n 20 "$err" >&2
		case $rc in 130 | 143) exit "$rc" ;; esac
	fi
}
nm=$(tests/npm/install "$FILESTOR_BUILD")
if [ ! -d "$nm" ]; then
	fail "web: npm packages" "$nm"
elif [ ! -x /usr/bin/chromium ]; then
	fail "web: /usr/bin/chromium is missing (tools/install-deps test)"
else
	# ImageMagick under its default policy, not the programs' own.
	env -u MAGICK_CONFIGURE_PATH convert -size 640x480 gradient:blue-yellow "$TEST_TMP/photo.png"
	shots=$FILESTOR_BUILD/web-screens/$SERVER-$STORE
	mkdir -p "$shots"
	web_script "the browser script finished" "$TEST_TMP/node.err" env NODE_MODULES="$nm" \
	    EMAIL="$EMAIL" PASSWORD="$PW" TENANT="$TID" TENANT2="$TID2" AGENT_ID="$AGENT_ID" \
	    AGENT_ROOT="$ROOT" SHOTS="$shots" PHOTO="$TEST_TMP/photo.png" WORK="$TEST_TMP" \
	    timeout --foreground -k 5 240 node tests/web/app.mjs
	# Firefox too ("current Chromium and Firefox"), in the lighttpd pass
	# only: Debian's firefox-esr over WebDriver BiDi (tests/web/firefox.mjs).
	if [ "$SERVER" != lighttpd ] || [ "$STORE" != local ]; then
		:
	elif [ ! -x /usr/bin/firefox-esr ]; then
		fail "web: /usr/bin/firefox-esr is missing (tools/install-deps test)"
	else
		web_script "the Firefox script finished" "$TEST_TMP/firefox.err" env \
		    EMAIL="$EMAIL" PASSWORD="$PW" TENANT="$TID" SHOTS="$shots" WORK="$TEST_TMP" \
		    timeout --foreground -k 5 120 node --experimental-websocket tests/web/firefox.mjs
	fi
	for k in big50.bin resume24.bin; do
		check "tus: one row for $k" eq "$(tsql "SELECT count(*) FROM files WHERE key = 'tenants/$TID/$k'")" 1
	done
	check "tus: no unfinished upload left" eq "$(tsql "SELECT count(*) FROM uploads WHERE tenant_id = '$TID'")" 0
fi
stop_agent
