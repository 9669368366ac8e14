# docs/openapi.yaml against the running server: every operation the spec
# lists is served, answers 400 for a malformed query, and answers only
# statuses the spec documents for it; every GET has a HEAD twin with the
# same status and headers and no body; 401s carry WWW-Authenticate where
# the spec says so; POST /api/agents/heartbeat and PUT's body behave as
# documented. (tests/openapi-lint.sh checks the file's form.)

SPEC_FILE=docs/openapi.yaml
OPS=$TEST_TMP/ops

# One line per documented response: "METHOD PATH STATUS RESPONSE", where
# RESPONSE names the components/responses entry ("-" when inline). The
# file's layout is fixed by the lint: paths at two spaces, methods at
# four, status codes at eight.
awk '
	/^[^ ]/ { path = ""; op = "" }
	/^  \/api/ { path = $1; sub(/:$/, "", path); op = ""; next }
	/^    [a-z]+:$/ {
		m = $1; sub(/:$/, "", m)
		op = (path != "" && m ~ /^(get|head|put|post|patch|delete)$/) ? toupper(m) " " path : ""
		code = ""
		next
	}
	op != "" && /^        '\''[0-9][0-9][0-9]'\'':$/ {
		if (code != "") print op, code, "-"
		code = $1; gsub(/[^0-9]/, "", code)
		next
	}
	code != "" && /^          \$ref:/ {
		r = $2; gsub(/'\''/, "", r); sub(/.*\//, "", r)
		print op, code, r
		code = ""
		next
	}
	code != "" { print op, code, "-"; code = "" }
' "$SPEC_FILE" >"$OPS"
nops=$(cut -d' ' -f1,2 "$OPS" | sort -u | wc -l)
check "spec: operations parsed ($nops)" test "$nops" -ge 30

# documented METHOD TEMPLATE STATUS: the spec lists STATUS for the operation.
documented() { grep -qF "$1 $2 $3 " "$OPS"; }
# response_of METHOD TEMPLATE STATUS: the components/responses name.
response_of() { grep -F "$1 $2 $3 " "$OPS" | head -n1 | cut -d' ' -f4; }

# --- static: one token, every GET has a HEAD, PUT's body
check "spec: token only as the tokenQuery security scheme" \
    eq "$(grep -cE '^ *- name: token$' "$SPEC_FILE")" 0
for op in $(grep '^GET ' "$OPS" | cut -d' ' -f2 | sort -u); do
	check "spec: HEAD $op is documented" grep -q "^HEAD $op " "$OPS"
done
putbody=$(awk '/^  \/api\/storage\/\{key\}:$/ { p = 1; next } /^  \// { p = 0 }
    p && /^    put:$/ { q = 1; next } q && /^      responses:$/ { exit } q' "$SPEC_FILE")
check "spec: PUT body is application/octet-stream" has "$putbody" "application/octet-stream:"
check "spec: PUT body is optional (an empty body is a file)" has "$putbody" "required: false"
check "spec: PUT body is not */*" eq "$(printf '%s\n' "$putbody" | grep -c "'\*/\*'")" 0
check "spec: heartbeat documented" grep -q '^POST /api/agents/heartbeat 200 ' "$OPS"

# --- fixtures: a file, a folder, an agent with its tunnel on
TID=$(mk_tenant openapi)
UADM=$(mk_user "$TID" admin)
KADM=$(mk_key "$TID" "$UADM")
ADM=(-H "Authorization: Bearer $KADM")
J=(-H 'Content-Type: application/json')
req PUT /api/storage/spec/a.txt "${ADM[@]}" -H 'Content-Type: text/plain' --data-binary 'hello spec'
expect_status 201 "fixture: a file"
req POST /api/folders "${ADM[@]}" "${J[@]}" --data '{"name":"spec"}'
FID=$(jqb .id)
ET=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
req POST /api/agents/enroll "${J[@]}" \
    --data "{\"token\":\"$ET\",\"name\":\"spec\",\"allowedRoots\":[\"/srv\"]}"
expect_status 201 "fixture: an agent"
AID=$(jqb .agentId)
ASECRET=$(jqb .agentSecret)
req POST "/api/agents/$AID/tunnel" "${ADM[@]}" "${J[@]}" --data '{"hostname":"agent.example.com"}'
expect_status 200 "fixture: its tunnel"

# concrete TEMPLATE: a path of the running server for a spec path.
concrete() {
	local p=$1
	case "$p" in
	/api/folders/*) p=${p//\{id\}/$FID} ;;
	*) p=${p//\{id\}/$AID} ;;
	esac
	printf '%s' "${p//\{key\}/spec/a.txt}"
}
# query TEMPLATE: a valid query string for a GET of that path.
query() {
	case "$1" in
	/api/file/content) printf '?agent=%s&path=/srv/x' "$AID" ;;
	esac
}

# --- every operation: routed, 400 on a malformed query, only documented
# statuses without credentials, WWW-Authenticate as documented
while read -r m t; do
	p=$(concrete "$t")
	# A query parameter with an empty name is refused before any route
	# runs, so this changes nothing (DELETE, rotate) on the way.
	req "$m" "$p?=x" "${ADM[@]}" -H 'Content-Length: 0'
	if [ "$m" = HEAD ]; then
		check "$m $t: malformed query is 400" eq "$STATUS" 400
	else
		expect_error 400 BAD_REQUEST "$m $t: malformed query is 400"
	fi
	check "$m $t: 400 documented" documented "$m" "$t" 400

	req "$m" "$p$(query "$t")" -H 'Content-Length: 0'
	check "$m $t: without credentials, $STATUS is documented" documented "$m" "$t" "$STATUS"
	check "$m $t: served (not an unknown route)" neq "$(jqb .error.message)" "no such route"
	if [ "$STATUS" = 401 ]; then
		# RFC 9110 §15.5.2: every 401 has a challenge.
		check "$m $t: 401 carries WWW-Authenticate" \
		    eq "$(hdr WWW-Authenticate)" 'Bearer realm="filestor"'
	fi
done < <(cut -d' ' -f1,2 "$OPS" | sort -u)

# --- every GET and its HEAD: same status and headers, no body
for t in $(grep '^GET ' "$OPS" | cut -d' ' -f2 | sort -u); do
	p=$(concrete "$t")$(query "$t")
	req GET "$p" "${ADM[@]}"
	gs=$STATUS
	glen=$(wc -c <"$TEST_TMP/body")
	gct=$(hdr Content-Type)
	check "GET $t: $gs is documented" documented GET "$t" "$gs"
	req HEAD "$p" "${ADM[@]}"
	check "HEAD $t: same status as GET ($gs)" eq "$STATUS" "$gs"
	check "HEAD $t: $STATUS is documented" documented HEAD "$t" "$STATUS"
	# The metrics count the GET itself: the HEAD's body may be longer.
	[ "$t" = /api/metrics ] ||
	    check "HEAD $t: Content-Length of the GET body" eq "$(hdr Content-Length)" "$glen"
	check "HEAD $t: same Content-Type as GET" eq "$(hdr Content-Type)" "$gct"
	check "HEAD $t: no body" eq "$(raw_head "$p" "Authorization: Bearer $KADM")" 0
done

# --- GET /api/file/content: the 302 is the success, with its JSON body
req GET "/api/file/content$(query /api/file/content)" "${ADM[@]}"
expect_status 302 "file-content: 302"
check "file-content: Location is the body's url" eq "$(hdr Location)" "$(jqb .url)"
check "file-content: expiresAt" has "$(jqb .expiresAt)" "Z"

# --- the 401s that are not the credential check
req GET "/api/storage/spec/a.txt?token=abc.def"
expect_error 401 UNAUTHORIZED "bad ?token=: 401"
check "bad ?token=: WWW-Authenticate" eq "$(hdr WWW-Authenticate)" 'Bearer realm="filestor"'
req POST /api/auth/login "${J[@]}" --data '{"email":"nobody@example.com","password":"x"}'
expect_error 401 UNAUTHORIZED "login with a wrong password: 401"
check "login 401: WWW-Authenticate" eq "$(hdr WWW-Authenticate)" 'Bearer realm="filestor"'
check "login 401: documented as LoginFailed" eq "$(response_of POST /api/auth/login 401)" LoginFailed

# --- POST /api/agents/heartbeat, each documented answer
HB=(-H "Authorization: Bearer $AID.$ASECRET")
hb() { req POST /api/agents/heartbeat "${J[@]}" "$@"; }
hbdoc() { check "heartbeat: $STATUS is documented" documented POST /api/agents/heartbeat "$STATUS"; }
hb "${HB[@]}" --data '{"version":"1.0","health":{"ok":true}}'
expect_status 200 "heartbeat: 200"
check "heartbeat: body {ok:true}" eq "$(jqb -c .)" '{"ok":true}'
check "heartbeat: no-store" eq "$(hdr Cache-Control)" no-store
hbdoc
req GET "/api/agents/$AID" "${ADM[@]}"
check "heartbeat: lastSeenAt set" has "$(jqb .lastSeenAt)" "Z"
hb "${HB[@]}" --data '{"version":"1.0","health":"ok","tunnelHostname":"brave-spec-words.trycloudflare.com"}'
expect_status 200 "heartbeat: quick hostname accepted"
check "heartbeat: quick hostname echoed" eq "$(jqb .tunnelHostname)" brave-spec-words.trycloudflare.com
req GET "/api/agents/$AID" "${ADM[@]}"
check "heartbeat: quick hostname stored" eq "$(jqb .tunnel.hostname)" brave-spec-words.trycloudflare.com
hb "${HB[@]}" --data '{"version":"1.0","tunnelHostname":null}'
expect_status 200 "heartbeat: null hostname accepted"
check "heartbeat: null hostname changes nothing" eq "$(jqb -c .)" '{"ok":true}'
hb --data '{"version":"1.0"}'
expect_error 401 UNAUTHORIZED "heartbeat: no credentials: 401"
check "heartbeat 401: WWW-Authenticate" eq "$(hdr WWW-Authenticate)" 'Bearer realm="filestor"'
hbdoc
hb "${ADM[@]}" --data '{"version":"1.0"}'
expect_error 401 UNAUTHORIZED "heartbeat: an API key is not an agent credential"
hb -H "Authorization: Bearer $AID.fsa_wrong" --data '{"version":"1.0"}'
expect_error 401 UNAUTHORIZED "heartbeat: wrong secret: 401"
hb "${HB[@]}" --data '{"version":"1.0",'
expect_error 400 BAD_REQUEST "heartbeat: malformed JSON: 400"
hbdoc
req POST /api/agents/heartbeat "${HB[@]}" -H 'Content-Length: 0'
expect_error 400 BAD_REQUEST "heartbeat: empty body: 400"
hb "${HB[@]}" --data '{}'
expect_error 422 VALIDATION "heartbeat: no version: 422"
hbdoc
hb "${HB[@]}" --data '{"version":"1.0","extra":1}'
expect_error 422 VALIDATION "heartbeat: unknown field: 422"
hb "${HB[@]}" --data '{"version":"1.0","tunnelHostname":"evil.example.com"}'
expect_error 422 VALIDATION "heartbeat: foreign hostname: 422"
head -c 20000 /dev/zero | tr '\0' ' ' >"$TEST_TMP/big"
hb "${HB[@]}" --data-binary @"$TEST_TMP/big"
expect_error 413 PAYLOAD_TOO_LARGE "heartbeat: body over 16 KiB: 413"
hbdoc
req GET /api/agents/heartbeat
expect_error 405 BAD_REQUEST "heartbeat: GET is 405"
check "heartbeat 405: Allow: POST" eq "$(hdr Allow)" POST
hbdoc

# --- PUT: the body is optional, */* is the default type, ranges are 422
req PUT /api/storage/spec/empty "${ADM[@]}" -H 'Content-Length: 0'
expect_status 201 "put: an empty body stores an empty file"
check "put empty: size 0" eq "$(jqb .size)" 0
check "put empty: default type" eq "$(jqb .contentType)" application/octet-stream
req PUT /api/storage/spec/empty "${ADM[@]}"
expect_status 200 "put: no body at all overwrites with an empty file"
req PUT /api/storage/spec/star "${ADM[@]}" -H 'Content-Type: */*' --data-binary x
expect_status 201 "put */*: accepted"
check "put */*: stored as application/octet-stream" eq "$(jqb .contentType)" application/octet-stream
req GET /api/storage/spec/star "${ADM[@]}"
check "get after */*: served as application/octet-stream" eq "$(hdr Content-Type)" application/octet-stream
req PUT /api/storage/spec/img "${ADM[@]}" -H 'Content-Type: image/*' --data-binary x
expect_error 422 VALIDATION "put image/*: 422"
req PUT /api/storage/spec/img "${ADM[@]}" -H 'Content-Type: */png' --data-binary x
expect_error 422 VALIDATION "put */png: 422"
req PUT /api/storage/spec/params "${ADM[@]}" -H 'Content-Type: text/plain; charset=utf-8' --data-binary x
check "put: parameters kept in contentType" eq "$(jqb .contentType)" "text/plain; charset=utf-8"
