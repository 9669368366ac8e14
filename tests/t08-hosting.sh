# Hosting: what must hold behind either web server, lighttpd or Apache
# with mod_fcgid (tests/all runs the suite under both; SERVER says which).
# docs/hosting.md lists where the two differ and why.

TID=$(mk_tenant hosting)
U=$(mk_user "$TID" admin)
K=$(mk_key "$TID" "$U")
A=(-H "Authorization: Bearer $K")

# --- Authorization reaches the programs (Apache: CGIPassAuth)
req GET /api/auth/me "${A[@]}"
expect_status 200 "Authorization header reaches the program"
check "the key's user" eq "$(jqb .user.id)" "$U"

# --- absolute-form request target (RFC 9112 §3.2.2): same as the path
req GET / "${A[@]}" --request-target "$BASE/api/auth/me"
expect_status 200 "absolute-form target routes like its path"
check "absolute-form target: the program saw the path" eq "$(jqb .user.id)" "$U"

# --- files: X-Sendfile is consumed by the server, never shown
head -c 70000 /dev/urandom >"$TEST_TMP/f"
req PUT /api/storage/h/file.bin "${A[@]}" --data-binary @"$TEST_TMP/f"
expect_status 201 "put"
req GET /api/storage/h/file.bin "${A[@]}"
expect_status 200 "get"
check "get: the bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/f"
check "no X-Sendfile header reaches the client" eq "$(hdr X-Sendfile)$(hdr X-LIGHTTPD-send-file)" ""
check "get: Content-Length" eq "$(hdr Content-Length)" 70000
req GET /api/storage/h/file.bin "${A[@]}" -H 'Range: bytes=100-199'
expect_status 206 "range through X-Sendfile"
check "range: 100 bytes" eq "$(stat -c %s "$TEST_TMP/body")" 100

# --- a chunked upload (mod_fcgid buffers it and passes its length).
# Small: lighttpd 1.4 answers 411 to a chunked body it has not seen whole
# (over 64 KiB) when it hands it to a FastCGI program (docs/hosting.md).
head -c 20000 "$TEST_TMP/f" >"$TEST_TMP/f20k"
req PUT /api/storage/h/chunked.bin "${A[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TEST_TMP/f20k"
expect_status 201 "chunked put"
check "chunked put: size" eq "$(jqb .size)" 20000

# --- %2F in a key arrives undecoded, and names the same key as '/'
req PUT "/api/storage/h/enc%2Fslash" "${A[@]}" --data-binary 'enc'
expect_status 201 "key with %2F accepted"
check "%2F key is h/enc/slash" eq "$(jqb .key)" "h/enc/slash"
req GET /api/storage/h/enc/slash "${A[@]}"
expect_status 200 "%2F key read back with '/'"
check "%2F key: body" eq "$(body)" "enc"

# --- errors the web server may answer itself are still JSON
req GET "/api/auth/me%zz" "${A[@]}"
expect_error 400 BAD_REQUEST "bad escape in the path: JSON 400"
req PUT "/api/storage/h/a%00b" "${A[@]}" --data-binary 'x'
expect_error 422 VALIDATION "NUL in a key: JSON 422"
# A declared body over MAX_UPLOAD_BYTES (5 GiB here) is refused at once,
# before any of it is sent or buffered.
req PUT /api/storage/h/huge "${A[@]}" -H 'Content-Length: 6000000000' \
    --data-binary 'x' --max-time 10
expect_error 413 PAYLOAD_TOO_LARGE "declared length over the limit: JSON 413 at once"
check "no row for the refused upload" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE '%/h/huge'")" 0

# What the web server refuses itself is JSON too (lighttpd: its
# server.error-handler; Apache: ErrorDocument), wherever it allows.
is_json_error() { [ "$STATUS" -ge 400 ] && [ -n "$(jqb '.error.code // empty')" ] &&
    case "$(hdr Content-Type)" in application/json*) true ;; *) false ;; esac; }
req FOO /api/auth/me "${A[@]}"
check "an unknown method: JSON error ($STATUS)" is_json_error
req GET "/api/auth/me%C0" "${A[@]}"
check "an invalid byte escape in the path: JSON error ($STATUS)" is_json_error
req GET "/api/storage/h/file.bin?x=%FF" "${A[@]}"
check "an invalid byte in the query: JSON error ($STATUS)" is_json_error
req GET /notes.txt
check "a path outside /api: JSON error ($STATUS)" is_json_error
if [ "${SERVER:-lighttpd}" = lighttpd ]; then
	req POST /api/auth/logout "${A[@]}"
	expect_error 400 BAD_REQUEST "a body-less POST without Content-Length: JSON 400"
	check "it says to send Content-Length" has "$(jqb .error.message)" "Content-Length: 0"
	# lighttpd refuses a chunked body it has not received whole (over
	# 64 KiB) when the FastCGI request starts: send the rest a second late.
	code=$( ( head -c 70000 /dev/zero; sleep 1; head -c 30000 /dev/zero ) |
	    curl -s -o "$TEST_TMP/body" -D "$TEST_TMP/headers" -w '%{http_code}' \
	    "${A[@]}" -H 'Transfer-Encoding: chunked' -T - "$BASE/api/storage/h/chunked-big")
	STATUS=$code
	expect_error 400 BAD_REQUEST "a large chunked upload under lighttpd: JSON 400, not HTML 411"
fi

# --- dot segments never move a request to another program's route
req GET "/api/storage/../auth/me" "${A[@]}"
check "dot segments do not reach auth/me" has "404 422" "$STATUS"
req GET "/api/storage/h/../h/file.bin" "${A[@]}"
expect_error 422 VALIDATION "dot segment in a key refused"

# --- only /api and the web app (/, /index.html, /assets/<hash>/...:
# t18-webapp) are served
req GET /notes.txt
check "non-API path refused" eq "$STATUS" 403

# (apache/filestor.conf passes every setting the programs read: the unit
# test test_cfg checks it against the settings table of common/cfg.c.)

# --- a start counts only once the started server itself listens
# (serve_wait_port): a port that another server answers on is not enough
# (t05's time-limit block once talked to a server with other settings).
(
	PORT=${BASE##*:}
	sleep 1 &
	serve_wait_port $!
)
check "serve_wait_port: a port another process listens on is not ours" eq "$?" 1
