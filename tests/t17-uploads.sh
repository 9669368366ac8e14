# Resumable uploads, tus 1.0 (issue 16, docs/uploads.md): every header
# and status of core, creation, creation-with-upload, creation-defer-
# length, termination, expiration and checksum; PUT's permissions and
# publish; races, cuts, expiry and gc. The real client (tus-js-client)
# runs from tus-client.js at the end.

mk_two_users uploads
TUS=(-H 'Tus-Resumable: 1.0.0')
# A POST without a body still says so (lighttpd answers 411 otherwise;
# browsers and tus-js-client send it).
NOBODY=(-H 'Content-Length: 0')
OCT=(-H 'Content-Type: application/offset+octet-stream')
MAX=${MAX_UPLOAD_BYTES:-5368709120}
STAGES=$FILESTOR_DATA_DIR/.uploads

b64() { printf '%s' "$1" | base64 -w0; }
# meta KEY [CONTENT-TYPE]: an Upload-Metadata value.
meta() { printf 'key %s%s' "$(b64 "$1")" "${2:+,filetype $(b64 "$2")}"; }
rows() { tsql "SELECT count(*) FROM $1"; }
stage_of() { echo "$STAGES/${1##*/}"; }
# create METADATA LENGTH [curl args]: POST as A; sets LOC.
create() {
	local md=$1 len=$2
	shift 2
	case " $* " in *" --data-binary "*) ;; *) set -- "$@" "${NOBODY[@]}" ;; esac
	req POST /api/uploads "${A[@]}" "${TUS[@]}" -H "Upload-Length: $len" \
	    -H "Upload-Metadata: $md" "$@"
	LOC=$(hdr Location)
}
# patch LOC OFFSET DATA-FILE [curl args]: PATCH as A.
patch() {
	local loc=$1 off=$2 f=$3
	shift 3
	req PATCH "$loc" "${A[@]}" "${TUS[@]}" "${OCT[@]}" \
	    -H "Upload-Offset: $off" --data-binary @"$f" "$@"
}
offset_is() { req HEAD "$1" "${A[@]}" "${TUS[@]}" && eq "$(hdr Upload-Offset)" "$2"; }

printf 'hello ' >"$TEST_TMP/p1"
printf 'world' >"$TEST_TMP/p2"
printf 'hello world' >"$TEST_TMP/all"

# --- discovery
req OPTIONS /api/uploads
expect_status 204 "OPTIONS: 204"
check "OPTIONS: Tus-Resumable" eq "$(hdr Tus-Resumable)" 1.0.0
check "OPTIONS: Tus-Version" eq "$(hdr Tus-Version)" 1.0.0
for x in creation creation-with-upload creation-defer-length termination expiration checksum; do
	check "OPTIONS: Tus-Extension has $x" has ",$(hdr Tus-Extension)," ",$x,"
done
check "OPTIONS: Tus-Max-Size is MAX_UPLOAD_BYTES" eq "$(hdr Tus-Max-Size)" "$MAX"
check "OPTIONS: Tus-Checksum-Algorithm" eq "$(hdr Tus-Checksum-Algorithm)" sha256

# --- Tus-Resumable
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" -H 'Upload-Length: 5' -H "Upload-Metadata: $(meta a)"
expect_error 412 PRECONDITION_FAILED "no Tus-Resumable: 412"
check "412: Tus-Version" eq "$(hdr Tus-Version)" 1.0.0
check "412: Tus-Resumable" eq "$(hdr Tus-Resumable)" 1.0.0
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" -H 'Tus-Resumable: 0.2.2' -H 'Upload-Length: 5' \
    -H "Upload-Metadata: $(meta a)"
expect_error 412 PRECONDITION_FAILED "Tus-Resumable 0.2.2: 412"
req POST /api/uploads "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 5' -H "Upload-Metadata: $(meta a)"
expect_error 401 UNAUTHORIZED "creation without credentials: 401"

# --- creation: bad input
create 'key not*base64' 5
expect_error 422 VALIDATION "metadata that is not base64: 422"
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 5' \
    -H "Upload-Metadata: filetype $(b64 text/plain)"
expect_error 422 VALIDATION "metadata without key: 422"
for k in ../x tenants/x /lead trail/ 'a//b'; do
	create "$(meta "$k")" 5
	expect_error 422 VALIDATION "metadata key '$k': 422"
done
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 5' \
    -H "Upload-Metadata: key $(b64 up/x),key $(b64 up/y)"
expect_error 422 VALIDATION "metadata key twice: 422"
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 5' \
    -H "Upload-Metadata: key $(b64 up/x),contentType $(b64 'image/*')"
expect_error 422 VALIDATION "metadata contentType range: 422"
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 5' \
    -H "Upload-Metadata: key $(b64 up/x),folderId $(b64 0b8e1d5e-7c55-4f6e-9a53-1f0c2d3e4f50)"
expect_error 422 VALIDATION "metadata folderId of no folder: 422"
create "$(meta up/x)" 5 -H 'Upload-Defer-Length: 1'
expect_error 400 BAD_REQUEST "both Upload-Length and Upload-Defer-Length: 400"
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H "Upload-Metadata: $(meta up/x)"
expect_error 400 BAD_REQUEST "neither Upload-Length nor Upload-Defer-Length: 400"
create "$(meta up/x)" -3
expect_error 400 BAD_REQUEST "negative Upload-Length: 400"
create "$(meta up/x)" $((MAX + 1))
expect_error 413 PAYLOAD_TOO_LARGE "Upload-Length over MAX_UPLOAD_BYTES: 413"
check "no upload rows from refused creations" eq "$(rows uploads)" 0

# --- creation, HEAD, PATCH, completion
# umetric SERIES: its value in GET /api/metrics (loopback), 0 when absent.
umetric() {
	curl -s "$BASE/api/metrics" |
	    awk -v s="$1" 'index($0, s " ") == 1 { print $2; f = 1 } END { if (!f) print 0 }'
}
UC0=$(umetric 'filestor_uploads_total{event="created"}')
UD0=$(umetric 'filestor_uploads_total{event="completed"}')
UT0=$(umetric 'filestor_uploads_total{event="terminated"}')
create "$(meta up/hello.txt text/plain)" 11
expect_status 201 "creation: 201"
check "creation: Location /api/uploads/<id>" has "$LOC" /api/uploads/
check "creation: Tus-Resumable" eq "$(hdr Tus-Resumable)" 1.0.0
check "creation: Upload-Expires is an HTTP date" has "$(hdr Upload-Expires)" GMT
check "creation: a stage on disk" test -f "$(stage_of "$LOC")"
req GET /api/storage/up/hello.txt "${A[@]}"
expect_status 404 "nothing under the key before the last byte"

req HEAD "$LOC" "${A[@]}" "${TUS[@]}"
expect_status 200 "HEAD: 200"
check "HEAD: Upload-Offset 0" eq "$(hdr Upload-Offset)" 0
check "HEAD: Upload-Length" eq "$(hdr Upload-Length)" 11
check "HEAD: Cache-Control no-store" eq "$(hdr Cache-Control)" no-store
check "HEAD: Upload-Metadata echoed" eq "$(hdr Upload-Metadata)" "$(meta up/hello.txt text/plain)"
check "HEAD: Upload-Expires" has "$(hdr Upload-Expires)" GMT
req HEAD "$LOC" "${A[@]}"
check "HEAD without Tus-Resumable: 412" eq "$STATUS" 412

req HEAD "$LOC" "${B[@]}" "${TUS[@]}"
check "another user's upload: HEAD 404" eq "$STATUS" 404
req PATCH "$LOC" "${B[@]}" "${TUS[@]}" "${OCT[@]}" -H 'Upload-Offset: 0' \
    --data-binary @"$TEST_TMP/p1"
expect_error 404 NOT_FOUND "another user's upload: PATCH 404"
req DELETE "$LOC" "${B[@]}" "${TUS[@]}"
expect_error 404 NOT_FOUND "another user's upload: DELETE 404"
req HEAD /api/uploads/0123456789abcdef0123456789abcdef "${A[@]}" "${TUS[@]}"
check "HEAD of no upload: 404" eq "$STATUS" 404
req HEAD /api/uploads/nothex "${A[@]}" "${TUS[@]}"
check "HEAD of a malformed id: 404" eq "$STATUS" 404

req PATCH "$LOC" "${A[@]}" "${TUS[@]}" -H 'Upload-Offset: 0' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TEST_TMP/p1"
expect_error 415 UNSUPPORTED_MEDIA_TYPE "PATCH with another Content-Type: 415"
check "415: Tus-Resumable" eq "$(hdr Tus-Resumable)" 1.0.0
patch "$LOC" 3 "$TEST_TMP/p1"
expect_error 409 CONFLICT "PATCH at a wrong offset: 409"
patch "$LOC" 0 "$TEST_TMP/p1" -H 'Upload-Offset: x'
check "PATCH with a malformed Upload-Offset: 400" eq "$STATUS" 400
patch "$LOC" 0 "$TEST_TMP/p1"
expect_status 204 "PATCH: 204"
check "PATCH: Upload-Offset" eq "$(hdr Upload-Offset)" 6
check "PATCH: Tus-Resumable" eq "$(hdr Tus-Resumable)" 1.0.0
check "PATCH: Upload-Expires" has "$(hdr Upload-Expires)" GMT
check "HEAD after PATCH: 6" offset_is "$LOC" 6

printf 'world, and more' >"$TEST_TMP/long"
patch "$LOC" 6 "$TEST_TMP/long"
expect_error 413 PAYLOAD_TOO_LARGE "PATCH past Upload-Length: 413"
check "HEAD after 413: still 6" offset_is "$LOC" 6
patch "$LOC" 6 "$TEST_TMP/p2" -H "Upload-Checksum: sha256 $(printf 'other' | openssl dgst -sha256 -binary | base64 -w0)"
expect_error 460 CHECKSUM_MISMATCH "checksum mismatch: 460"
check "HEAD after 460: chunk discarded" offset_is "$LOC" 6
check "460: the stage holds only the kept bytes" eq "$(stat -c %s "$(stage_of "$LOC")")" 6
patch "$LOC" 6 "$TEST_TMP/p2" -H "Upload-Checksum: md5 $(printf 'world' | openssl dgst -md5 -binary | base64 -w0)"
expect_error 400 BAD_REQUEST "checksum with another algorithm: 400"
patch "$LOC" 6 "$TEST_TMP/p2" -H "Upload-Checksum: sha256 $(openssl dgst -sha256 -binary "$TEST_TMP/p2" | base64 -w0)"
expect_status 204 "last PATCH (with a good checksum): 204"
check "last PATCH: Upload-Offset 11" eq "$(hdr Upload-Offset)" 11
req GET /api/storage/up/hello.txt "${A[@]}"
expect_status 200 "published: GET 200"
check "published: the bytes" eq "$(body)" "hello world"
check "published: ETag from sha256" eq "$(hdr ETag)" "\"$(sha256sum "$TEST_TMP/all" | cut -d' ' -f1)\""
check "published: contentType from filetype" eq "$(hdr Content-Type)" "text/plain"
check "published: one row" eq "$(tsql "SELECT count(*) FROM files WHERE key = 'tenants/$TID/up/hello.txt'")" 1
check "published: owner is the uploader" eq "$(tsql "SELECT owner_id FROM files WHERE key = 'tenants/$TID/up/hello.txt'")" "$UA"
check "published: the object" obj_same "tenants/$TID/up/hello.txt" "$TEST_TMP/all"
check "published: no upload row" eq "$(rows uploads)" 0
check "published: no stage" test ! -e "$(stage_of "$LOC")"
req HEAD "$LOC" "${A[@]}" "${TUS[@]}"
check "HEAD after completion: 404" eq "$STATUS" 404

# --- creation-with-upload; an empty upload
create "$(meta up/whole.txt)" 11 "${OCT[@]}" --data-binary @"$TEST_TMP/all"
expect_status 201 "creation-with-upload: 201"
check "creation-with-upload: Upload-Offset" eq "$(hdr Upload-Offset)" 11
check "creation-with-upload: published" obj_same "tenants/$TID/up/whole.txt" "$TEST_TMP/all"
create "$(meta up/part.txt)" 11 "${OCT[@]}" --data-binary @"$TEST_TMP/p1"
expect_status 201 "creation with a first chunk: 201"
check "first chunk: Upload-Offset 6" eq "$(hdr Upload-Offset)" 6
patch "$LOC" 6 "$TEST_TMP/p2"
check "first chunk: then the rest" obj_same "tenants/$TID/up/part.txt" "$TEST_TMP/all"
create "$(meta up/empty)" 0
expect_status 201 "empty upload: 201"
req GET /api/storage/up/empty "${A[@]}"
check "empty upload: published, 0 bytes" eq "$STATUS/$(hdr Content-Length)" 200/0

# --- creation-defer-length
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Defer-Length: 1' \
    -H "Upload-Metadata: $(meta up/deferred)"
expect_status 201 "deferred length: 201"
LOC=$(hdr Location)
req HEAD "$LOC" "${A[@]}" "${TUS[@]}"
check "deferred: HEAD Upload-Defer-Length 1" eq "$(hdr Upload-Defer-Length)" 1
check "deferred: HEAD has no Upload-Length" eq "$(hdr Upload-Length)" ""
patch "$LOC" 0 "$TEST_TMP/p1"
expect_status 204 "deferred: PATCH without a length"
patch "$LOC" 6 "$TEST_TMP/p2" -H 'Upload-Length: 12'
expect_status 204 "deferred: PATCH that sets the length"
check "deferred: not published before the length is reached" obj_absent "tenants/$TID/up/deferred"
patch "$LOC" 11 "$TEST_TMP/p2" -H 'Upload-Length: 13'
expect_error 400 BAD_REQUEST "deferred: a length cannot change"
printf '!' >"$TEST_TMP/bang"
patch "$LOC" 11 "$TEST_TMP/bang"
expect_status 204 "deferred: last byte"
printf 'hello world!' >"$TEST_TMP/all2"
check "deferred: published" obj_same "tenants/$TID/up/deferred" "$TEST_TMP/all2"
# A stream of unknown length: chunked PATCH bodies, length at the end.
req POST /api/uploads "${A[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Defer-Length: 1' \
    -H "Upload-Metadata: $(meta up/stream)"
LOC=$(hdr Location)
head -c 300000 /dev/urandom >"$TEST_TMP/stream"
head -c 200000 "$TEST_TMP/stream" >"$TEST_TMP/s1"
tail -c 100000 "$TEST_TMP/stream" >"$TEST_TMP/s2"
patch "$LOC" 0 "$TEST_TMP/s1"
expect_status 204 "stream: a PATCH while the length is unknown"
patch "$LOC" 200000 "$TEST_TMP/s2" -H 'Upload-Length: 300000'
expect_status 204 "stream: the last PATCH says the length"
check "stream: published" obj_same "tenants/$TID/up/stream" "$TEST_TMP/stream"

# --- termination
create "$(meta up/gone)" 11
LOC=$(hdr Location)
patch "$LOC" 0 "$TEST_TMP/p1"
req DELETE "$LOC" "${A[@]}" "${TUS[@]}"
expect_status 204 "DELETE: 204"
check "DELETE: Tus-Resumable" eq "$(hdr Tus-Resumable)" 1.0.0
req HEAD "$LOC" "${A[@]}" "${TUS[@]}"
check "after DELETE: HEAD 404" eq "$STATUS" 404
check "after DELETE: no stage" test ! -e "$(stage_of "$LOC")"
check "after DELETE: nothing published" obj_absent "tenants/$TID/up/gone"
check "metrics: uploads created counted" test "$(umetric 'filestor_uploads_total{event="created"}')" -ge $((UC0 + 2))
check "metrics: uploads completed counted" test "$(umetric 'filestor_uploads_total{event="completed"}')" -ge $((UD0 + 1))
check "metrics: an upload terminated counted" eq "$(umetric 'filestor_uploads_total{event="terminated"}')" $((UT0 + 1))

# --- authorization, as PUT, at creation and at completion
req PUT /api/storage/up/mine "${A[@]}" --data-binary 'A'
req POST /api/uploads "${B[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 1' \
    -H "Upload-Metadata: $(meta up/mine)"
expect_error 403 FORBIDDEN "creation over another owner's file: 403"
req POST /api/uploads "${B[@]}" "${NOBODY[@]}" "${TUS[@]}" -H 'Upload-Length: 11' \
    -H "Upload-Metadata: $(meta up/race)"
expect_status 201 "B creates an upload"
LOC=$(hdr Location)
req PUT /api/storage/up/race "${A[@]}" --data-binary 'A first'
req PATCH "$LOC" "${B[@]}" "${TUS[@]}" "${OCT[@]}" -H 'Upload-Offset: 0' \
    --data-binary @"$TEST_TMP/all"
expect_error 403 FORBIDDEN "completion over a file that became another's: 403"
req GET /api/storage/up/race "${A[@]}"
check "the other owner's file is untouched" eq "$(body)" "A first"
req DELETE "$LOC" "${B[@]}" "${TUS[@]}"

# --- two PATCHes at once: one wins, the other 409, no interleaving.
# (Under Apache mod_fcgid buffers bodies, so the second mostly comes
# after the first: then its offset is wrong, 409 all the same.)
head -c 4000000 /dev/urandom >"$TEST_TMP/c1"
head -c 4000000 /dev/urandom >"$TEST_TMP/c2"
create "$(meta up/race2)" 8000000
curl -s -o /dev/null -w '%{http_code}' -X PATCH "${A[@]}" "${TUS[@]}" "${OCT[@]}" \
    -H 'Upload-Offset: 0' --limit-rate 4M --data-binary @"$TEST_TMP/c1" \
    "$BASE$LOC" >"$TEST_TMP/code1" &
P1=$!
trap 'kill $P1 2>/dev/null' EXIT
wait_for 5 test -s "$(stage_of "$LOC")"
patch "$LOC" 0 "$TEST_TMP/c2"
CODE2=$STATUS
wait $P1
trap - EXIT
check "concurrent PATCHes: one 204, one 409" eq "$(printf '%s\n' "$(cat "$TEST_TMP/code1")" "$CODE2" | sort | tr '\n' ' ')" "204 409 "
check "concurrent PATCHes: HEAD says one body" offset_is "$LOC" 4000000
if cmp -s "$(stage_of "$LOC")" "$TEST_TMP/c1" ||
    cmp -s "$(stage_of "$LOC")" "$TEST_TMP/c2"; then
	pass "concurrent PATCHes: the bytes are one body whole"
else
	fail "concurrent PATCHes: the bytes are one body whole"
fi
req DELETE "$LOC" "${A[@]}" "${TUS[@]}"

# --- a PATCH cut mid-way keeps what was fsync'd; HEAD tells the truth
head -c 1000000 /dev/urandom >"$TEST_TMP/cut"
create "$(meta up/cut)" 1000000
LOC=$(hdr Location)
mkfifo "$TEST_TMP/fifo"
curl -s -o /dev/null -X PATCH "${A[@]}" "${TUS[@]}" "${OCT[@]}" -H 'Upload-Offset: 0' \
    -H 'Transfer-Encoding:' -H 'Content-Length: 1000000' -T "$TEST_TMP/fifo" "$BASE$LOC" &
P2=$!
trap 'kill $P2 2>/dev/null' EXIT
exec 7>"$TEST_TMP/fifo"
head -c 400000 "$TEST_TMP/cut" >&7
# lighttpd streams the body: wait for the worker to have it.
stage_has() { [ "$(stat -c %s "$(stage_of "$LOC")")" -ge "$1" ]; }
[ "$SERVER" = lighttpd ] && wait_for 5 stage_has 262144
kill $P2 2>/dev/null
exec 7>&-
wait $P2 2>/dev/null
trap - EXIT
# The worker sees the cut, keeps (fsyncs) what came and records it.
cut_settled() {
	req HEAD "$LOC" "${A[@]}" "${TUS[@]}" && [ "$STATUS" = 200 ] &&
	    [ "$(hdr Upload-Offset)" = "$(stat -c %s "$(stage_of "$LOC")")" ]
}
wait_for 5 cut_settled
OFF=$(hdr Upload-Offset)
if [ "$SERVER" = lighttpd ]; then
	check "cut PATCH: the bytes that came are kept ($OFF)" test "$OFF" -ge 262144
else
	check "cut PATCH: Apache buffers bodies, nothing kept" eq "$OFF" 0
fi
tail -c +$((OFF + 1)) "$TEST_TMP/cut" >"$TEST_TMP/rest"
patch "$LOC" "$OFF" "$TEST_TMP/rest"
expect_status 204 "cut PATCH: resume from HEAD's offset"
check "cut PATCH: the object is whole" obj_same "tenants/$TID/up/cut" "$TEST_TMP/cut"

# --- a PATCH whose bytes cannot be made durable keeps none of them, and
# HEAD still says the offset before it. The shim fails the next fsync or
# fdatasync on the data dir (EIO from a failing disk, ENOSPC from a thin
# volume), once, as Linux reports a writeback error: a small body fails
# at its last fdatasync; one over 2 MiB at the first of those that make
# it durable as it comes (fio.h, FIO_SYNC_STEP), and the PATCH must fail
# then, for the last one succeeds.
ctl=$TEST_TMP/fsync.ctl
: >"$ctl"
chmod a+w "$ctl"	# the server empties it
head -c 3000000 /dev/urandom >"$TEST_TMP/sync"
head -c 100 "$TEST_TMP/sync" >"$TEST_TMP/sync.a"
tail -c +101 "$TEST_TMP/sync" >"$TEST_TMP/sync.b"
if start_server2 LD_PRELOAD="$FILESTOR_BUILD/tests/enospc.so" \
    FILESTOR_TEST_ENOSPC_DIR="$FILESTOR_DATA_DIR" FILESTOR_TEST_FSYNC_CTL="$ctl"; then
	create "$(meta up/sync.bin)" 3000000
	while read -r err status code f off; do
		[ "$err" = none ] || echo "file $err once" >"$ctl"
		patch "$BASE2$LOC" "$off" "$TEST_TMP/$f"
		if [ "$err" = none ]; then
			expect_status "$status" "fsync: PATCH of $f once the disk works"
			continue
		fi
		expect_error "$status" "$code" "fsync $err, PATCH of $f at $off: $status"
		check "fsync $err, PATCH of $f: the fault was met" eq "$(cat "$ctl")" ""
		check "fsync $err, PATCH of $f: HEAD says $off" offset_is "$LOC" "$off"
		check "fsync $err, PATCH of $f: the stage is cut back" \
		    eq "$(stat -c %s "$(stage_of "$LOC")")" "$off"
	done <<'CASES'
EIO 500 INTERNAL sync.a 0
ENOSPC 507 INSUFFICIENT_STORAGE sync 0
none 204 - sync.a 0
EIO 500 INTERNAL sync.b 100
ENOSPC 507 INSUFFICIENT_STORAGE sync.b 100
none 204 - sync.b 100
CASES
	check "fsync: the object is whole" obj_same "tenants/$TID/up/sync.bin" "$TEST_TMP/sync"
	stop_server2
else
	fail "server with the fsync shim started"
fi

# --- parts: on S3 each S3_PART_BYTES goes up as soon as it is whole, and
# the stage keeps only the rest (a hole where the part was); on disk the
# stage is published as it is. The running sha256 spans the PATCHes.
P=${S3_PART_BYTES:-5242880}
LEN=$((2 * P + 100000))
head -c "$LEN" /dev/urandom >"$TEST_TMP/parts"
head -c $((P + 50000)) "$TEST_TMP/parts" >"$TEST_TMP/parts.1"
tail -c +$((P + 50001)) "$TEST_TMP/parts" | head -c "$P" >"$TEST_TMP/parts.2"
tail -c +$((2 * P + 50001)) "$TEST_TMP/parts" >"$TEST_TMP/parts.3"
parts_of() { tsql "SELECT count(*) FROM upload_parts WHERE upload_id = '${1##*/}'"; }
stage_alloc() { echo $(($(stat -c '%b * %B' "$(stage_of "$1")"))); }
# Open multipart uploads since here: s3rver cannot abort one, so those an
# earlier file of the pass left (t04 kills PUTs mid-upload) stay open.
MP0=0
[ "${STORE:-local}" = s3 ] && MP0=$(s3_uploads)
mp_open() { if [ "${STORE:-local}" = s3 ]; then echo $(($(s3_uploads) - MP0)); else echo 0; fi; }
create "$(meta up/parts.bin)" "$LEN"
patch "$LOC" 0 "$TEST_TMP/parts.1"
expect_status 204 "parts: first PATCH, a part and more"
if [ "${STORE:-local}" = s3 ]; then
	check "parts: one part went to S3" eq "$(parts_of "$LOC")" 1
	check "parts: S3 holds the multipart upload" eq "$(mp_open)" 1
	check "parts: the stage keeps less than a part ($(stage_alloc "$LOC") bytes)" \
	    test "$(stage_alloc "$LOC")" -lt "$P"
else
	check "parts: none on disk" eq "$(parts_of "$LOC")" 0
	check "parts: the stage holds it all" test "$(stage_alloc "$LOC")" -ge $((P + 50000))
fi
check "parts: HEAD tells the offset" offset_is "$LOC" $((P + 50000))
check "parts: the stage keeps its size" eq "$(stat -c %s "$(stage_of "$LOC")")" $((P + 50000))
patch "$LOC" $((P + 50000)) "$TEST_TMP/parts.2"
expect_status 204 "parts: second PATCH"
if [ "${STORE:-local}" = s3 ]; then
	check "parts: two parts" eq "$(parts_of "$LOC")" 2
fi
patch "$LOC" $((2 * P + 50000)) "$TEST_TMP/parts.3"
expect_status 204 "parts: last PATCH publishes"
check "parts: the object is whole" obj_same "tenants/$TID/up/parts.bin" "$TEST_TMP/parts"
check "parts: its sha256, from the running hash" eq \
    "$(tsql "SELECT sha256 FROM files WHERE key = 'tenants/$TID/up/parts.bin'")" \
    "$(sha256sum "$TEST_TMP/parts" | cut -d' ' -f1)"
check "parts: no multipart upload left open" eq "$(mp_open)" 0
check "parts: no part rows left" eq "$(rows upload_parts)" 0
check "parts: no stage left" test ! -e "$(stage_of "$LOC")"
# A row from before the running hash (sql/0009) is read whole at the end,
# and sends no part before.
head -c 100 "$TEST_TMP/parts" >"$TEST_TMP/parts.a"
tail -c +101 "$TEST_TMP/parts" >"$TEST_TMP/parts.b"
create "$(meta up/legacy.bin)" "$LEN"
patch "$LOC" 0 "$TEST_TMP/parts.a"
tsql "UPDATE uploads SET sha_state = NULL WHERE id = '${LOC##*/}'"
patch "$LOC" 100 "$TEST_TMP/parts.b"
expect_status 204 "legacy row: last PATCH publishes"
check "legacy row: the object is whole" obj_same "tenants/$TID/up/legacy.bin" "$TEST_TMP/parts"
check "legacy row: its sha256" eq \
    "$(tsql "SELECT sha256 FROM files WHERE key = 'tenants/$TID/up/legacy.bin'")" \
    "$(sha256sum "$TEST_TMP/parts" | cut -d' ' -f1)"
# A worker that dies after CompleteMultipartUpload, before the file row
# (the shim exits it at the row's INSERT): the bucket no longer knows the
# upload, and the retry finds its temporary object whole and publishes it:
# an empty PATCH at the final offset, or a HEAD (tus-js-client, seeing
# Upload-Offset equal Upload-Length, sends nothing more).
crash_retry() {
	local how=$1 k=up/crash-$1.bin
	create "$(meta "$k")" "$LEN"
	patch "$LOC" 0 "$TEST_TMP/parts.1"
	patch "$LOC" $((P + 50000)) "$TEST_TMP/parts.2"
	patch "$BASE2$LOC" $((2 * P + 50000)) "$TEST_TMP/parts.3"
	check "crash after Complete ($how): the worker died ($STATUS)" test "$STATUS" -ge 500
	check "crash after Complete ($how): no row yet" eq \
	    "$(tsql "SELECT count(*) FROM files WHERE key = 'tenants/$TID/$k'")" 0
	check "crash after Complete ($how): the bucket has no upload open" eq "$(mp_open)" 0
	if [ "$how" = patch ]; then
		: >"$TEST_TMP/empty"
		patch "$LOC" "$LEN" "$TEST_TMP/empty"
		expect_status 204 "crash after Complete: the retried PATCH publishes"
	else
		check "crash after Complete: HEAD publishes, says all bytes came" offset_is "$LOC" "$LEN"
	fi
	check "crash after Complete ($how): the object is whole" obj_same "tenants/$TID/$k" "$TEST_TMP/parts"
	check "crash after Complete ($how): its sha256" eq \
	    "$(tsql "SELECT sha256 FROM files WHERE key = 'tenants/$TID/$k'")" \
	    "$(sha256sum "$TEST_TMP/parts" | cut -d' ' -f1)"
	check "crash after Complete ($how): one row" eq \
	    "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/$k%'")" 1
	check "crash after Complete ($how): the upload is over" eq \
	    "$(tsql "SELECT count(*) FROM uploads WHERE id = '${LOC##*/}'")" 0
	check "crash after Complete ($how): no stage left" test ! -e "$(stage_of "$LOC")"
}
if [ "${STORE:-local}" = s3 ]; then
	if start_server2 LD_PRELOAD="$FILESTOR_BUILD/tests/enospc.so" \
	    FILESTOR_TEST_DIE_AT_SQL="INSERT INTO files"; then
		crash_retry patch
		crash_retry head
		stop_server2
	else
		fail "server with the crash shim started"
	fi
fi
# Termination drops the multipart upload with the stage.
create "$(meta up/parts-del.bin)" "$LEN"
patch "$LOC" 0 "$TEST_TMP/parts.1"
req DELETE "$LOC" "${A[@]}" "${TUS[@]}"
expect_status 204 "parts: DELETE terminates"
check "parts: DELETE leaves no multipart upload open" eq "$(mp_open)" 0
check "parts: DELETE leaves no part rows" eq "$(rows upload_parts)" 0
check "parts: DELETE leaves no stage" test ! -e "$(stage_of "$LOC")"
# Expiry and gc drop it too (below, with the rest).
create "$(meta up/parts-old.bin)" "$LEN"
patch "$LOC" 0 "$TEST_TMP/parts.1"
PARTS_OLD=$LOC
tsql "UPDATE uploads SET expires_at = 1 WHERE id = '${LOC##*/}'"

# --- expiry and gc
create "$(meta up/fresh)" 11
FRESH=$LOC
create "$(meta up/old)" 11
patch "$LOC" 0 "$TEST_TMP/p1"
tsql "UPDATE uploads SET expires_at = 1 WHERE id = '${LOC##*/}'"
req HEAD "$LOC" "${A[@]}" "${TUS[@]}"
check "expired upload: HEAD 410" eq "$STATUS" 410
patch "$LOC" 6 "$TEST_TMP/p2"
expect_error 410 GONE "expired upload: PATCH 410"
"$FILESTORCTL" gc >"$TEST_TMP/gc.out" 2>&1
check "gc: runs" grep -q "uploads: expired or abandoned" "$TEST_TMP/gc.out"
check "gc: the expired row is gone" eq "$(tsql "SELECT count(*) FROM uploads WHERE id = '${LOC##*/}'")" 0
check "gc: the expired stage is gone" test ! -e "$(stage_of "$LOC")"
check "gc: a live upload stays" offset_is "$FRESH" 0
check "gc: the expired upload with parts is gone" test ! -e "$(stage_of "$PARTS_OLD")"
check "gc: no multipart upload left open" eq "$(mp_open)" 0
check "gc: no part rows left" eq "$(rows upload_parts)" 0
check "gc: no temporary object left" eq "$(find "$FILESTOR_DATA_DIR/.tmp" -type f 2>/dev/null | wc -l)" 0
req DELETE "$FRESH" "${A[@]}" "${TUS[@]}"
check "no stage left behind" eq "$(find "$STAGES" -type f ! -name .host | wc -l)" 0
check "no upload row left behind" eq "$(rows uploads)" 0

# --- the real client: tus-js-client 64 MiB in 5 MiB chunks, stopped at
# about 20 MiB (an abort; then a killed connection), resumed by a new
# client from the stored URL; and a stream of unknown length.
if nm=$(tests/npm/install "${FILESTOR_CGI_DIR%/cgi-bin}"); then
	head -c $((64 << 20)) /dev/urandom >"$TEST_TMP/big"
	BIGSHA=$(sha256sum "$TEST_TMP/big" | cut -d' ' -f1)
	tusjs() { NODE_PATH=$nm node tests/tus-client.js "$1" "$BASE" "$KA" "$2" "$3"; }
	for sc in abort kill; do
		out=$(tusjs "$sc" "tus/$sc.bin" "$TEST_TMP/big")
		check "tus-js-client $sc: finished ($out)" eq "$(jq -r .ok <<<"$out")" true
		at=$(jq -r '.offsetAtAbort // .offsetAtCut' <<<"$out")
		check "tus-js-client $sc: stopped part-way ($at)" test "$at" -gt 0 -a "$at" -lt $((64 << 20))
		check "tus-js-client $sc: sha256 of the object" eq \
		    "$(tsql "SELECT sha256 FROM files WHERE key = 'tenants/$TID/tus/$sc.bin'")" "$BIGSHA"
		check "tus-js-client $sc: the object's bytes" obj_same "tenants/$TID/tus/$sc.bin" "$TEST_TMP/big"
		check "tus-js-client $sc: one row" eq \
		    "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/tus/$sc.bin%'")" 1
	done
	head -c $((12 << 20)) /dev/urandom >"$TEST_TMP/deferred"
	out=$(tusjs defer tus/stream.bin "$TEST_TMP/deferred")
	check "tus-js-client deferred length: finished ($out)" eq "$(jq -r .ok <<<"$out")" true
	check "tus-js-client deferred length: the object" obj_same "tenants/$TID/tus/stream.bin" "$TEST_TMP/deferred"
	check "tus-js-client: no upload left" eq "$(rows uploads)" 0
	check "tus-js-client: no stage left" eq "$(find "$STAGES" -type f ! -name .host | wc -l)" 0
else
	fail "tus-js-client: npm install" "$nm"
fi
