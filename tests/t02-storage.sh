# Storage API: put, get (X-Sendfile and streamed), HEAD, Range, ETag,
# tokens, list, patch, delete, sign.

TID=$(mk_tenant store)
UA=$(mk_user "$TID" authenticated)
UB=$(mk_user "$TID" authenticated)
UADM=$(mk_user "$TID" admin)
KA=$(mk_key "$TID" "$UA")
KB=$(mk_key "$TID" "$UB")
KADM=$(mk_key "$TID" "$UADM")
A=(-H "Authorization: Bearer $KA")
B=(-H "Authorization: Bearer $KB")
ADM=(-H "Authorization: Bearer $KADM")

head -c 100000 /dev/urandom >"$TEST_TMP/f100k"
SHA=$(sha256sum "$TEST_TMP/f100k" | cut -d' ' -f1)

# --- put
req PUT /api/storage/docs/a.bin "${A[@]}" -H 'Content-Type: application/x-test' \
    --data-binary @"$TEST_TMP/f100k"
expect_status 201 "put new key: 201"
check "put: key" eq "$(jqb .key)" "docs/a.bin"
check "put: size" eq "$(jqb .size)" 100000
check "put: sha256" eq "$(jqb .sha256)" "$SHA"
check "put: etag" eq "$(jqb .etag)" "\"$SHA\""
check "put: contentType" eq "$(jqb .contentType)" "application/x-test"
check "put: acl private" eq "$(jqb .acl)" "private"
check "put: owner" eq "$(jqb .ownerId)" "$UA"
check "put: folderId null" eq "$(jqb .folderId)" "null"
check "put: createdAt ISO" has "$(jqb .createdAt)" "T"
check "put: object stored under tenants/<tid>/" obj_same "tenants/$TID/docs/a.bin" "$TEST_TMP/f100k"
check "put: row key is physical" eq "$(tsql "SELECT count(*) FROM files WHERE key = 'tenants/$TID/docs/a.bin'")" 1

req PUT /api/storage/docs/plain "${A[@]}" -H 'Content-Type:' --data-binary 'hello'
expect_status 201 "put without Content-Type"
check "default content type" eq "$(jqb .contentType)" "application/octet-stream"

printf 'v2' >"$TEST_TMP/v2"
req PUT /api/storage/docs/plain "${A[@]}" -H 'Content-Type: text/plain' --data-binary @"$TEST_TMP/v2"
expect_status 200 "overwrite: 200"
check "overwrite: new size" eq "$(jqb .size)" 2
check "overwrite: new type" eq "$(jqb .contentType)" "text/plain"

req PUT /api/storage/docs/empty "${A[@]}" --data-binary ''
expect_status 201 "put an empty object"
check "empty: size 0" eq "$(jqb .size)" 0
check "empty: sha of nothing" eq "$(jqb .sha256)" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

req PUT /api/storage/docs/x "${A[@]}" -H 'Content-Type: not a type' --data-binary 'x'
expect_error 422 VALIDATION "put with a malformed Content-Type"
# "*/*" (what a client generated from a spec with a */* body sends) is
# stored as the default type, never served back; "image/*" is refused.
req PUT /api/storage/docs/wild "${A[@]}" -H 'Content-Type: */*' --data-binary 'w'
expect_status 201 "put with Content-Type */*"
check "*/* is stored as application/octet-stream" eq "$(jqb .contentType)" "application/octet-stream"
req GET /api/storage/docs/wild "${A[@]}"
check "*/* is not served back" eq "$(hdr Content-Type)" "application/octet-stream"
req PUT /api/storage/docs/wild2 "${A[@]}" -H 'Content-Type: image/*' --data-binary 'w'
expect_error 422 VALIDATION "put with a Content-Type range (image/*) refused"
req PUT /api/storage/docs/x --data-binary 'x'
expect_error 401 UNAUTHORIZED "put without credentials"
req PUT "/api/storage/docs/x?foo=1" "${A[@]}" --data-binary 'x'
expect_error 422 VALIDATION "put with an unknown parameter"

# --- key validation (DESIGN §2)
# The message too: a key that slipped past validation may still be
# refused by a later layer (the store), but with the wrong words.
while IFS='|' read -r k m; do
	req PUT "/api/storage/$k" "${A[@]}" --data-binary 'x'
	expect_error 422 VALIDATION "key '$k' refused"
	# Apache refuses %00 in a path itself, before the program (http.c).
	[ "$k" = a%00b ] && [ "$SERVER" = apache ] && m="path contains a NUL byte"
	check "key '$k': message" eq "$(jqb .error.message)" "$m"
done <<'KEYS'
tenants/x|key must not start with "tenants" (reserved)
tenants|key must not start with "tenants" (reserved)
a//b|key must not contain an empty segment ('//')
a%2F%2Fb|key must not contain an empty segment ('//')
a/./b|key must not contain '.' or '..' segments
a/../b|key must not contain '.' or '..' segments
a%2F..%2Fb|key must not contain '.' or '..' segments
a/%2E%2E/b|key must not contain '.' or '..' segments
a/..|key must not contain '.' or '..' segments
a%5Cb|key must not contain a backslash
a%00b|key must not contain NUL bytes
a%01b|key must not contain control characters
a/|key must not end with '/'
%2Fa|key must not start with '/'
KEYS
# lighttpd itself refuses invalid UTF-8 in a path (400); behind another
# server the program answers 422. Either way nothing is stored.
req PUT "/api/storage/%FFa" "${A[@]}" --data-binary 'x'
check "invalid UTF-8 key refused" has "400 422" "$STATUS"
long=$(head -c 1025 /dev/zero | tr '\0' a)
req PUT "/api/storage/$long" "${A[@]}" --data-binary 'x'
expect_error 422 VALIDATION "key of 1025 bytes refused"
check "key of 1025 bytes: message" eq "$(jqb .error.message)" "key must be at most 1024 bytes"
req PUT "/api/storage/" "${A[@]}" --data-binary 'x'
expect_error 422 VALIDATION "empty key refused"
check "empty key: message" eq "$(jqb .error.message)" "key must not be empty"
# C1 controls (U+0080..U+009F) are controls too: a terminal acts on U+009B
# (CSI) as on ESC [.
req PUT "/api/storage/c1%C2%9Bx" "${A[@]}" --data-binary 'x'
expect_error 422 VALIDATION "key with a C1 control (U+009B) refused"
check "the C1 refusal names control characters" has "$(jqb .error.message)" "control characters"
req PUT "/api/storage/c1%C2%A0x" "${A[@]}" --data-binary 'x'
expect_status 201 "U+00A0, just past C1, is a fine key"
check "no row for refused keys" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE '%/x' OR key LIKE '%a%b'")" 0

# --- unicode keys round-trip, NFC
req PUT "/api/storage/photos/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.txt" "${A[@]}" --data-binary 'unicode'
expect_status 201 "unicode key put"
check "unicode key in row" eq "$(jqb .key)" "photos/été/日本.txt"
req GET "/api/storage/photos/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.txt" "${A[@]}"
expect_status 200 "unicode key get"
check "unicode body" eq "$(body)" "unicode"
# e + combining acute (NFD) names the same NFC key
req GET "/api/storage/photos/e%CC%81te%CC%81/%E6%97%A5%E6%9C%AC.txt" "${A[@]}"
expect_status 200 "NFD spelling reaches the NFC key"

# --- get suite, run against X-Sendfile and streamed servers
get_suite() {
	local label=$1 base=$2 tok mid
	req GET "$base/api/storage/docs/a.bin" "${A[@]}"
	expect_status 200 "$label: get"
	check "$label: get bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/f100k"
	check "$label: strong ETag" eq "$(hdr ETag)" "\"$SHA\""
	check "$label: Last-Modified" has "$(hdr Last-Modified)" "GMT"
	check "$label: Accept-Ranges" eq "$(hdr Accept-Ranges)" "bytes"
	check "$label: nosniff" eq "$(hdr X-Content-Type-Options)" "nosniff"
	check "$label: Content-Type" eq "$(hdr Content-Type)" "application/x-test"
	check "$label: Content-Length" eq "$(hdr Content-Length)" 100000
	check "$label: no X-Sendfile leaks" eq "$(hdr X-Sendfile)" ""

	req HEAD "$base/api/storage/docs/a.bin" "${A[@]}"
	expect_status 200 "$label: HEAD"
	check "$label: HEAD length" eq "$(hdr Content-Length)" 100000
	check "$label: HEAD sends no body" eq "$(BASE=$base raw_head /api/storage/docs/a.bin "Authorization: Bearer $KA")" 0

	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'Range: bytes=10-19'
	expect_status 206 "$label: Range 10-19"
	check "$label: range bytes" eq "$(body | hexof)" "$(tail -c +11 "$TEST_TMP/f100k" | head -c 10 | hexof)"
	check "$label: Content-Range" eq "$(hdr Content-Range)" "bytes 10-19/100000"
	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'Range: bytes=-100'
	expect_status 206 "$label: suffix Range"
	check "$label: suffix bytes" eq "$(body | hexof)" "$(tail -c 100 "$TEST_TMP/f100k" | hexof)"
	check "$label: suffix Content-Range" eq "$(hdr Content-Range)" "bytes 99900-99999/100000"
	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'Range: bytes=99990-'
	expect_status 206 "$label: open Range"
	check "$label: open range length" eq "$(stat -c %s "$TEST_TMP/body")" 10
	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'Range: bytes=100000-'
	expect_error 416 RANGE_NOT_SATISFIABLE "$label: Range past the end"
	check "$label: 416 Content-Range" eq "$(hdr Content-Range)" "bytes */100000"
	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'Range: bytes=0-1' -H "If-Range: \"$SHA\""
	expect_status 206 "$label: If-Range match gives 206"
	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'Range: bytes=0-1' -H 'If-Range: "stale"'
	expect_status 200 "$label: If-Range mismatch gives 200"
	check "$label: If-Range mismatch full body" eq "$(stat -c %s "$TEST_TMP/body")" 100000
	# An invalid Range is ignored (RFC 9110 §14.2): 200 and the whole
	# body, never the web server's own 416 page (lighttpd applies a Range
	# to what it sends by X-Sendfile).
	for rg in 'bytes=5-1' 'bytes=abc' 'bytes=' 'bytes=-' 'bytes=1-2-3' \
	    'bytes=0-99999999999999999999' 'bytes=0-1,5-6'; do
		req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H "Range: $rg"
		expect_status 200 "$label: Range '$rg' is ignored (200)"
		check "$label: Range '$rg': the whole body" cmp -s "$TEST_TMP/body" "$TEST_TMP/f100k"
	done

	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H "If-None-Match: \"$SHA\""
	expect_status 304 "$label: If-None-Match 304"
	check "$label: 304 no body" eq "$(stat -c %s "$TEST_TMP/body")" 0
	req GET "$base/api/storage/docs/a.bin" "${A[@]}" -H 'If-None-Match: "other"'
	expect_status 200 "$label: If-None-Match other 200"

	# active content is an attachment, and sandboxed
	req GET "$base/api/storage/docs/page.html" "${A[@]}"
	check "$label: html is an attachment" has "$(hdr Content-Disposition)" "attachment"
	check "$label: html CSP sandbox" eq "$(hdr Content-Security-Policy)" "sandbox"

	# tokens
	tok=$(mint_token "tenants/$TID/docs/a.bin" "$TID" $(( $(date +%s) + 300 )))
	req GET "$base/api/storage/docs/a.bin?token=$tok"
	expect_status 200 "$label: minted token works without credentials"
	check "$label: token bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/f100k"
	req GET "$base/api/storage/docs/plain?token=$tok"
	expect_error 403 FORBIDDEN "$label: token for key A on key B"
	tok=$(mint_token "tenants/$TID/docs/a.bin" "$TID" $(( $(date +%s) - 1 )))
	req GET "$base/api/storage/docs/a.bin?token=$tok"
	expect_error 401 UNAUTHORIZED "$label: expired token"
	check "$label: expired message" has "$(jqb .error.message)" "expired"
	tok=$(mint_token "tenants/$TID/docs/a.bin" "$TID" $(( $(date +%s) + 300 )) "some-other-secret-of-at-least-32-bytes!!")
	req GET "$base/api/storage/docs/a.bin?token=$tok"
	expect_error 401 UNAUTHORIZED "$label: token with the wrong key"
	tok=$(mint_token "tenants/$TID/docs/a.bin" "$TID" $(( $(date +%s) + 300 )))
	mid=$(( ${#tok} / 2 ))
	req GET "$base/api/storage/docs/a.bin?token=${tok:0:$mid}A${tok:$((mid+1))}"
	[ "${tok:$mid:1}" = A ] && req GET "$base/api/storage/docs/a.bin?token=${tok:0:$mid}B${tok:$((mid+1))}"
	expect_error 401 UNAUTHORIZED "$label: tampered token"
	req GET "$base/api/storage/docs/a.bin?token=garbage"
	expect_error 401 UNAUTHORIZED "$label: garbage token"
	req GET "$base/api/storage/docs/a.bin?token=$tok" -H 'Range: bytes=0-9'
	expect_status 206 "$label: token with Range"
}
printf '<html><script>alert(1)</script></html>' >"$TEST_TMP/page.html"
req PUT /api/storage/docs/page.html "${A[@]}" -H 'Content-Type: text/html' --data-binary @"$TEST_TMP/page.html"
expect_status 201 "put html"
# Content-Disposition is encoded as the agent encodes it (RFC 8187
# attr-char kept, the rest percent-encoded; one http_disposition).
req PUT '/api/storage/docs/a%26b%2Bc%20%C3%A9.html' "${A[@]}" -H 'Content-Type: text/html' --data-binary @"$TEST_TMP/page.html"
expect_status 201 "put html with & + and a space in its name"
req GET '/api/storage/docs/a%26b%2Bc%20%C3%A9.html' "${A[@]}"
check "Content-Disposition in RFC 8187 form" eq "$(hdr Content-Disposition)" \
    "attachment; filename=\"a&b+c __.html\"; filename*=UTF-8''a&b+c%20%C3%A9.html"
req DELETE '/api/storage/docs/a%26b%2Bc%20%C3%A9.html' "${A[@]}"
expect_status 204 "delete it again"

get_suite sendfile "$BASE"
if start_server2 FILESTOR_SENDFILE=0; then
	pass "second server (FILESTOR_SENDFILE=0) started"
	get_suite streamed "$BASE2"
	stop_server2
else
	fail "second server (FILESTOR_SENDFILE=0) started"
fi

req GET /api/storage/docs/a.bin
expect_error 401 UNAUTHORIZED "get without credentials"
req GET /api/storage/docs/nope "${A[@]}"
expect_error 404 NOT_FOUND "get missing key"
req GET "/api/storage/docs/a.bin?width=10&x=1" "${A[@]}"
expect_error 422 VALIDATION "get with an unknown parameter"
req POST /api/storage/docs/a.bin "${A[@]}" --data 'x'
expect_error 405 BAD_REQUEST "POST on a key is 405"
check "405 Allow lists the storage methods" eq "$(hdr Allow)" "GET, HEAD, PUT, PATCH, DELETE"
req DELETE /api/storage "${A[@]}"
expect_error 405 BAD_REQUEST "DELETE on the list route is 405"

# --- sign
req POST /api/storage/docs/a.bin/sign "${A[@]}" -H 'Content-Type: application/json' -d '{"ttlSeconds":120}'
expect_status 200 "sign"
url=$(jqb .url)
check "sign: url form" has "$url" "/api/storage/docs/a.bin?token="
exp=$(jqb .expiresAt)
check "sign: expiresAt ISO with millis" eq "$(printf '%s' "$exp" | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.000Z$')" 1
req GET "$url"
expect_status 200 "signed url works without credentials"
check "signed url bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/f100k"
payload=$(printf '%s' "${url#*token=}" | cut -d. -f1 | tr -- '-_' '+/')
while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload="$payload="; done
claims=$(printf '%s' "$payload" | base64 -d 2>/dev/null)
check "token payload k" eq "$(printf '%s' "$claims" | jq -r .k)" "tenants/$TID/docs/a.bin"
check "token payload t" eq "$(printf '%s' "$claims" | jq -r .t)" "$TID"
check "token payload has only k,t,exp" eq "$(printf '%s' "$claims" | jq -c 'keys')" '["exp","k","t"]'
check "token exp is ttl from now" eq "$(( $(printf '%s' "$claims" | jq -r .exp) - $(date +%s) <= 120 ))" 1
req POST /api/storage/docs/a.bin/sign "${A[@]}" --data ''
expect_status 200 "sign with no body uses the default"
e1=$(( $(date -d "$(jqb .expiresAt)" +%s) - $(date +%s) ))
check "default ttl is 3600" eq "$(( e1 > 3590 && e1 <= 3600 ))" 1
for bad in 59 86401 '"3600"' 1.5 null; do
	req POST /api/storage/docs/a.bin/sign "${A[@]}" -H 'Content-Type: application/json' -d "{\"ttlSeconds\":$bad}"
	expect_error 422 VALIDATION "sign ttlSeconds=$bad refused"
done
req POST /api/storage/docs/a.bin/sign "${A[@]}" -H 'Content-Type: application/json' -d '{"ttlSeconds":60,"k":"tenants/x/y"}'
expect_error 422 VALIDATION "sign refuses extra fields (no claims from the request)"
req POST /api/storage/docs/a.bin/sign "${A[@]}" -H 'Content-Type: application/json' -d '{"ttlSeconds":'
expect_error 400 BAD_REQUEST "sign with malformed JSON"
req POST /api/storage/docs/nope/sign "${A[@]}" --data ''
expect_error 404 NOT_FOUND "sign a missing key"
req POST /api/storage/docs/a.bin/sign --data ''
expect_error 401 UNAUTHORIZED "sign without credentials"

# --- patch
FID=$(curl -s "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"Reports/2026"}' "$BASE/api/folders" | jq -r .id)
req PATCH /api/storage/docs/a.bin "${A[@]}" -H 'Content-Type: application/json' -d "{\"acl\":\"public\",\"folderId\":\"$FID\"}"
expect_status 200 "patch acl and folder"
check "patch: acl" eq "$(jqb .acl)" "public"
check "patch: folderId" eq "$(jqb .folderId)" "$FID"
req PATCH /api/storage/docs/a.bin "${A[@]}" -H 'Content-Type: application/json' -d '{"folderId":null}'
expect_status 200 "patch folderId null"
check "patch: folder cleared" eq "$(jqb .folderId)" "null"
check "patch: acl kept" eq "$(jqb .acl)" "public"
# patch_refused STATUS CODE NAME BODY: PATCH docs/a.bin as A is refused.
patch_refused() {
	req PATCH /api/storage/docs/a.bin "${A[@]}" -H 'Content-Type: application/json' -d "$4"
	expect_error "$1" "$2" "$3"
}
patch_refused 422 VALIDATION "patch acl=world" '{"acl":"world"}'
patch_refused 422 VALIDATION "patch an unknown field" '{"size":1}'
patch_refused 422 VALIDATION "patch nothing" '{}'
patch_refused 422 VALIDATION "patch to a missing folder" '{"folderId":"00000000-0000-4000-8000-000000000000"}'
patch_refused 422 VALIDATION "patch folderId not a uuid" '{"folderId":"nope"}'
patch_refused 400 BAD_REQUEST "patch malformed JSON" '{"acl":'
req PATCH /api/storage/docs/nope "${A[@]}" -H 'Content-Type: application/json' -d '{"acl":"public"}'
expect_error 404 NOT_FOUND "patch a missing key"

# --- owner scoping: B cannot touch A's file
req GET /api/storage/docs/a.bin "${B[@]}"
expect_error 404 NOT_FOUND "B cannot read A's file (404)"
req PUT /api/storage/docs/a.bin "${B[@]}" --data-binary 'mine now'
expect_error 403 FORBIDDEN "B cannot overwrite A's file (403)"
check "A's object intact after B's PUT" obj_same "tenants/$TID/docs/a.bin" "$TEST_TMP/f100k"
req POST /api/storage/docs/a.bin/sign "${B[@]}" --data ''
expect_error 404 NOT_FOUND "B cannot sign A's file"
req PATCH /api/storage/docs/a.bin "${B[@]}" -H 'Content-Type: application/json' -d '{"acl":"private"}'
expect_error 404 NOT_FOUND "B cannot patch A's file"
req DELETE /api/storage/docs/a.bin "${B[@]}"
expect_error 404 NOT_FOUND "B cannot delete A's file"
req GET "/api/storage?prefix=docs/" "${B[@]}"
expect_status 200 "B lists"
check "B's list does not show A's files" eq "$(jqb '.items | length')" 0
req GET /api/storage/docs/a.bin "${ADM[@]}"
expect_status 200 "admin reads A's file"

# --- two tenants, same logical key
T2=$(mk_tenant other)
U2=$(mk_user "$T2" admin)
K2=$(mk_key "$T2" "$U2")
req PUT /api/storage/docs/a.bin -H "Authorization: Bearer $K2" --data-binary 'tenant two'
expect_status 201 "same logical key in another tenant is a new object"
req GET /api/storage/docs/a.bin -H "Authorization: Bearer $K2"
check "tenant two sees its own bytes" eq "$(body)" "tenant two"
req GET /api/storage/docs/a.bin "${A[@]}"
check "tenant one's bytes unchanged" cmp -s "$TEST_TMP/body" "$TEST_TMP/f100k"
tok=$(mint_token "tenants/$TID/docs/a.bin" "$T2" $(( $(date +%s) + 300 )))
req GET "/api/storage/docs/a.bin?token=$tok"
expect_error 403 FORBIDDEN "token whose t does not match its k"

# --- delete
req DELETE /api/storage/docs/plain "${A[@]}"
expect_status 204 "delete"
check "delete: row gone" eq "$(tsql "SELECT count(*) FROM files WHERE key = 'tenants/$TID/docs/plain'")" 0
check "delete: object gone" obj_absent "tenants/$TID/docs/plain"
req GET /api/storage/docs/plain "${A[@]}"
expect_error 404 NOT_FOUND "deleted key is 404"
req DELETE /api/storage/docs/plain "${A[@]}"
expect_error 404 NOT_FOUND "delete twice is 404"

# --- a custom scoped role: read-only under reports/
"$FILESTORCTL" role create reader --tenant "$TID" >/dev/null
"$FILESTORCTL" permission add reader system_files read --tenant "$TID" \
    --condition '{"key":{"_starts_with":"reports/"}}' >/dev/null
check "ctl: permission add with a bad condition fails" \
    bash -c "! '$FILESTORCTL' permission add reader system_files read --tenant '$TID' --condition '{\"evil\":{\"_eq\":1}}' 2>/dev/null"
UR=$(mk_user "$TID" authenticated)
"$FILESTORCTL" user set-role "$UR" --tenant "$TID" --role reader
KR=$(mk_key "$TID" "$UR")
req PUT /api/storage/reports/q1.txt "${ADM[@]}" --data-binary 'q1'
req PUT /api/storage/secret/s.txt "${ADM[@]}" --data-binary 's'
req GET /api/storage/reports/q1.txt -H "Authorization: Bearer $KR"
expect_status 200 "scoped role reads under its prefix"
req GET /api/storage/secret/s.txt -H "Authorization: Bearer $KR"
expect_error 404 NOT_FOUND "scoped role cannot read outside its prefix"
req GET /api/storage -H "Authorization: Bearer $KR"
check "scoped role lists only its prefix" eq "$(jqb '[.items[].key] | join(",")')" "reports/q1.txt"
req PUT /api/storage/reports/new.txt -H "Authorization: Bearer $KR" --data-binary 'x'
expect_error 403 FORBIDDEN "scoped role without create cannot put"
msg_new=$(jqb .error.message)
req PUT /api/storage/reports/q1.txt -H "Authorization: Bearer $KR" --data-binary 'x'
expect_error 403 FORBIDDEN "scoped role without update cannot overwrite"
check "the 403 does not tell whether the key exists" eq "$(jqb .error.message)" "$msg_new"
req POST /api/storage/reports/q1.txt/sign -H "Authorization: Bearer $KR" --data ''
expect_status 200 "scoped role signs what it can read"

# --- review fixes
req GET /api/storage/docs/a.bin
check "401 carries WWW-Authenticate" has "$(hdr WWW-Authenticate)" "Bearer"
req PUT "/api/storage/bad%C3%28utf8" "${A[@]}" --data-binary 'x'
expect_error 422 VALIDATION "invalid UTF-8 sequence in a key is a JSON 422"
req PUT /api/storage/nest/leaf "${A[@]}" --data-binary 'x'
req PUT /api/storage/nest "${A[@]}" --data-binary 'y'
if [ "${STORE:-local}" = s3 ]; then
	# A bucket has no directories: "nest" and "nest/leaf" coexist.
	expect_status 201 "S3: a key that is the folder part of another key is stored"
	req GET /api/storage/nest/leaf "${A[@]}"
	check "S3: the deeper key keeps its bytes" eq "$(cat "$TEST_TMP/body")" x
	req GET /api/storage/nest "${A[@]}"
	check "S3: the shorter key has its own bytes" eq "$(cat "$TEST_TMP/body")" y
else
	expect_error 409 CONFLICT "a key that is the folder part of another key is 409"
	check "409 explains the conflict" has "$(jqb .error.message)" "a/b"
fi
req POST /api/folders "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"ab\u0000cd"}'
expect_error 400 BAD_REQUEST "escaped NUL in a JSON string is refused"
req POST /api/auth/login -H 'Content-Type: application/json' -d '{"email":"a\u0000@x.y","password":"p"}'
expect_error 400 BAD_REQUEST "escaped NUL in a login field is refused"
req POST /api/auth/login -H 'Content-Type: application/json' -d '{"email":"a\\u0000@x.y","password":"p"}'
expect_error 401 UNAUTHORIZED "an escaped backslash before u0000 is just text"
