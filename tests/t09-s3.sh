# Storage adapters (DESIGN §8): a body larger than one S3 part through
# the API, S3 settings, presigned URLs and S3_REDIRECT. Runs in both
# store modes; the S3 half needs STORE=s3 (tests/run, tests/s3.sh).

TID=$(mk_tenant s3)
UA=$(mk_user "$TID" admin)
KA=$(mk_key "$TID" "$UA")
A=(-H "Authorization: Bearer $KA")

# --- a body above S3_PART_BYTES (5 MiB in tests/run): multipart on S3
head -c 12000000 /dev/urandom >"$TEST_TMP/big"
SHA=$(sha256sum "$TEST_TMP/big" | cut -d' ' -f1)
req PUT /api/storage/big/blob.bin "${A[@]}" --data-binary @"$TEST_TMP/big"
expect_status 201 "put 12 MB: 201"
check "put 12 MB: sha256 computed on the way" eq "$(jqb .sha256)" "$SHA"
check "put 12 MB: size" eq "$(jqb .size)" 12000000
check "put 12 MB: the stored object is the body" obj_same "tenants/$TID/big/blob.bin" "$TEST_TMP/big"
req GET /api/storage/big/blob.bin "${A[@]}"
expect_status 200 "get 12 MB"
check "get 12 MB: same bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/big"
# A range across the first part boundary (5242880).
req GET /api/storage/big/blob.bin "${A[@]}" -H 'Range: bytes=5242870-5242899'
expect_status 206 "range across a part boundary: 206"
check "range across a part boundary: bytes" cmp -s "$TEST_TMP/body" \
    <(tail -c +5242871 "$TEST_TMP/big" | head -c 30)
req GET /api/storage/big/blob.bin "${A[@]}" -H 'Range: bytes=-7'
expect_status 206 "suffix range: 206"
check "suffix range: bytes" cmp -s "$TEST_TMP/body" <(tail -c 7 "$TEST_TMP/big")
# Overwrite with a small body: one PUT replaces the multipart object.
req PUT /api/storage/big/blob.bin "${A[@]}" --data-binary 'small now'
expect_status 200 "overwrite with a small body: 200"
req GET /api/storage/big/blob.bin "${A[@]}"
check "overwrite: new bytes, at once" cmp -s "$TEST_TMP/body" <(printf 'small now')
req PUT /api/storage/big/empty "${A[@]}" --data-binary ''
expect_status 201 "empty body: 201"
req GET /api/storage/big/empty "${A[@]}"
expect_status 200 "empty object: 200"
check "empty object: no bytes" eq "$(stat -c %s "$TEST_TMP/body")" 0

# --- settings: S3_BUCKET without credentials refuses to start, naming the
# missing variable; without S3_BUCKET there is nothing to presign.
out=$(env -u S3_SECRET_ACCESS_KEY S3_BUCKET=b S3_ACCESS_KEY_ID=a \
    "$FILESTORCTL" s3 presign tenants/x/k --expires 60 2>&1)
check "missing S3_SECRET_ACCESS_KEY is refused by name" has "$out" "S3_SECRET_ACCESS_KEY is not"
out=$(env -u S3_ACCESS_KEY_ID S3_BUCKET=b S3_SECRET_ACCESS_KEY=s \
    "$FILESTOR_BUILD/cgi-bin/get" 2>&1 </dev/null)
check "a program refuses to start without S3_ACCESS_KEY_ID" has "$out" "refusing to start: S3_BUCKET is set but S3_ACCESS_KEY_ID is not"
out=$(env -u S3_BUCKET "$FILESTORCTL" s3 presign tenants/x/k --expires 60 2>&1)
check "presign without S3_BUCKET is refused" has "$out" "S3_BUCKET is not set"
# AWS's published example, through the command (--at fixes the time).
out=$(env S3_BUCKET=examplebucket S3_ENDPOINT=https://s3.amazonaws.com \
    S3_FORCE_PATH_STYLE=0 S3_REGION=us-east-1 S3_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
    S3_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
    "$FILESTORCTL" s3 presign test.txt --expires 86400 --at 20130524T000000Z)
check "filestorctl s3 presign matches AWS's example" eq "$out" \
    "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

if [ "${STORE:-local}" != s3 ]; then
	return 0
fi

# --- S3 only from here
# To its temporary key, published by a copy once its row committed
# (docs/decisions.md, "Publish and delete"), which leaves no .tmp/ object.
check "12 MB went up as a multipart upload" grep -aqE "\.tmp/[0-9a-f]{32}\?partNumber=2&uploadId=[^ ]* 200 " "$S3_TEST_DIR.log"
s3_keys() { s3_curl "$S3_ENDPOINT/$S3_BUCKET/?list-type=2&prefix=$1" | grep -o '<Key>[^<]*</Key>'; }
check "the bucket lists the object" has "$(s3_keys tenants/)" "big/blob.bin"
check "no temporary object is left in the bucket" eq "$(s3_keys .tmp/)" ""
req GET /api/storage/big/nope "${A[@]}"
expect_error 404 NOT_FOUND "S3: missing key is 404"
# A row whose object vanished from the bucket: a JSON 404, never a hang.
req PUT /api/storage/big/gone "${A[@]}" --data-binary 'here'
s3_curl -o /dev/null -X DELETE "$(s3_url "tenants/$TID/big/gone")"
req GET /api/storage/big/gone "${A[@]}"
expect_error 404 NOT_FOUND "S3: row without its object is a JSON 404"

# s3rver does not check signatures (the unit tests match AWS's examples);
# here the URL's form: the bucket, the key, the query.
url=$("$FILESTORCTL" s3 presign "tenants/$TID/big/blob.bin" --expires 60)
check "presigned URL is for the bucket" has "$url" "$S3_ENDPOINT/$S3_BUCKET/tenants/$TID/big/blob.bin?X-Amz-Algorithm="
check "presigned URL fetches the object" eq "$(curl -s "$url")" "small now"
check "presigned URL: expiry as asked" has "$url" "&X-Amz-Expires=60&"

if start_server2 S3_REDIRECT=1; then
	req GET "$BASE2/api/storage/big/blob.bin" "${A[@]}"
	expect_status 302 "S3_REDIRECT: GET of an original is 302"
	loc=$(hdr Location)
	check "S3_REDIRECT: to a presigned bucket URL" has "$loc" "X-Amz-Signature="
	check "S3_REDIRECT: short-lived (300 s)" has "$loc" "X-Amz-Expires=300&"
	check "S3_REDIRECT: the URL serves the bytes" eq "$(curl -s "$loc")" "small now"
	check "S3_REDIRECT: not cached" eq "$(hdr Cache-Control)" "private, no-store"
	req GET "$BASE2/api/storage/big/blob.bin"
	expect_error 401 UNAUTHORIZED "S3_REDIRECT: authorization comes first"
	req GET "$BASE2/api/storage/big/nope" "${A[@]}"
	expect_error 404 NOT_FOUND "S3_REDIRECT: a missing key is still 404"
	stop_server2
else
	fail "server with S3_REDIRECT=1 started"
fi

# --- filestorctl gc lists the bucket a page at a time (a page of long,
# escaped keys again one key at a time), keeps every object a row names
# and removes the one that none does (docs/decisions.md, "Publish and
# delete").
# 40 keys of about 4.8 KB each in the listing's XML: wherever the pages of
# 40 split them, one page holds 20 and passes the 64 KiB kept.
seg=$(printf '%%26%.0s' $(seq 1 240))
for i in $(seq 1 40); do
	curl -s -o /dev/null "${A[@]}" -X PUT --data-binary x "$BASE/api/storage/gc/$seg/$seg/$seg/$seg/f$i"
done
for i in $(seq 1 45); do
	curl -s -o /dev/null "${A[@]}" -X PUT --data-binary x "$BASE/api/storage/gc/short/f$i"
done
s3_curl -o /dev/null -X PUT --data-binary orphan "$(s3_url "tenants/$TID/gc/orphan.bin")"
out=$("$FILESTORCTL" gc 2>&1)
check "gc over many pages runs" eq "$?" 0
check "gc removed the one object without a row" has "$out" "objects: without a row, removed 1"
check "gc asked a page of long keys again, one key at a time" grep -q "max-keys=1&" "$S3_TEST_DIR.log"
check "the orphan is gone" obj_absent "tenants/$TID/gc/orphan.bin"
req GET "/api/storage/gc/$seg/$seg/$seg/$seg/f15" "${A[@]}"
expect_status 200 "gc kept the objects of rows (a long key)"
req GET /api/storage/gc/short/f45 "${A[@]}"
expect_status 200 "gc kept the objects of rows (the last page)"
