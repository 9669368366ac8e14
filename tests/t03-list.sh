# List: prefix, pagination, ordering, permission filtering in SQL, and the
# index range scan (EXPLAIN QUERY PLAN of the exact statement).

mk_two_users lister

for i in 01 02 03 04 05 06 07; do
	curl -s -o /dev/null "${A[@]}" -X PUT --data-binary "a$i" "$BASE/api/storage/img/p$i.jpg"
done
curl -s -o /dev/null "${A[@]}" -X PUT --data-binary x "$BASE/api/storage/img2/other.jpg"
curl -s -o /dev/null "${A[@]}" -X PUT --data-binary x "$BASE/api/storage/imgz.txt"
curl -s -o /dev/null "${B[@]}" -X PUT --data-binary x "$BASE/api/storage/img/b-owned.jpg"

req GET "/api/storage?prefix=img/" "${A[@]}"
expect_status 200 "list with prefix"
check "prefix img/: only A's 7 files under img/" eq "$(jqb '[.items[].key] | join(",")')" \
    "img/p01.jpg,img/p02.jpg,img/p03.jpg,img/p04.jpg,img/p05.jpg,img/p06.jpg,img/p07.jpg"
check "list item fields" eq "$(jqb '.items[0] | keys | join(",")')" \
    "acl,contentType,createdAt,etag,folderId,key,ownerId,sha256,size,updatedAt"
check "no next page" eq "$(jqb .nextCursor)" "null"
check "list is not cached" eq "$(hdr Cache-Control)" "private, no-store"

req GET "/api/storage?prefix=img" "${A[@]}"
check "prefix img (no slash) spans img/, img2/ and imgz" eq "$(jqb '.items | length')" 9

# pagination
req GET "/api/storage?prefix=img/&limit=3" "${A[@]}"
check "page 1 has 3" eq "$(jqb '[.items[].key] | join(",")')" "img/p01.jpg,img/p02.jpg,img/p03.jpg"
c1=$(jqb .nextCursor)
check "page 1 has a cursor" neq "$c1" "null"
req GET "/api/storage?prefix=img/&limit=3&cursor=$c1" "${A[@]}"
check "page 2" eq "$(jqb '[.items[].key] | join(",")')" "img/p04.jpg,img/p05.jpg,img/p06.jpg"
c2=$(jqb .nextCursor)
req GET "/api/storage?prefix=img/&limit=3&cursor=$c2" "${A[@]}"
check "page 3" eq "$(jqb '[.items[].key] | join(",")')" "img/p07.jpg"
check "last page has no cursor" eq "$(jqb .nextCursor)" "null"

req GET "/api/storage?prefix=img/" "${B[@]}"
check "B sees only its own file" eq "$(jqb '[.items[].key] | join(",")')" "img/b-owned.jpg"

T2=$(mk_tenant lister2)
U2=$(mk_user "$T2" admin)
req GET "/api/storage" -H "Authorization: Bearer $(mk_key "$T2" "$U2")"
check "another tenant's admin sees nothing of this tenant" eq "$(jqb '.items | length')" 0

for q in "limit=0" "limit=1001" "limit=abc" "limit=-1" "cursor=!!!" "cursor=$(printf 'x\001y' | b64u)" "bogus=1" "prefix=tenants/" "prefix=a%01"; do
	req GET "/api/storage?$q" "${A[@]}"
	expect_error 422 VALIDATION "list refuses $q"
done
req GET "/api/storage?limit=1000" "${A[@]}"
expect_status 200 "limit=1000 accepted"
req GET "/api/storage"
expect_error 401 UNAUTHORIZED "list without credentials"

# The plan of the statement list runs: a range scan of the primary key,
# with the owner condition applied on top, never a full scan.
# SQLite says it as SEARCH ... USING PRIMARY KEY, PostgreSQL as an Index
# Scan of files_pkey whose Index Cond bounds key on both sides.
case $FILESTOR_DB in
postgres://* | postgresql://*)
	range="Index Scan using files_pkey on files" full="Seq Scan"
	bounds="Index Cond: ((key >= " ;;
*)
	range="SEARCH files USING PRIMARY KEY (key>? AND key<?)"
	full="SCAN files" bounds="USING PRIMARY KEY (key>? AND key<?)" ;;
esac
plan=$("$FILESTORCTL" debug list-plan --tenant "$TID" --user "$UA" --prefix img/)
check "list plan searches the primary key by range" has "$plan" "$range"
check "list plan bounds the key" has "$plan" "$bounds"
check "list plan is not a full scan" eq "$(printf '%s' "$plan" | grep -c "$full")" 0
plan=$("$FILESTORCTL" debug list-plan --tenant "$TID" --user "$UA")
check "list plan without a prefix is still a range scan" has "$plan" "$range"
check "list plan without a prefix bounds the key" has "$plan" "$bounds"

# folders
req POST /api/folders "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"Projects/Alpha"}'
expect_status 201 "folder create"
FA=$(jqb .id)
check "folder name" eq "$(jqb .name)" "Projects/Alpha"
check "folder owner" eq "$(jqb .ownerId)" "$UA"
req POST /api/folders "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"Projects/Alpha"}'
expect_error 409 CONFLICT "duplicate folder name"
for bad in '{"name":""}' '{"name":"/x"}' '{"name":"x/"}' '{"name":"a//b"}' '{"name":5}' '{}' '{"name":"ok","x":1}'; do
	req POST /api/folders "${A[@]}" -H 'Content-Type: application/json' -d "$bad"
	expect_error 422 VALIDATION "folder create refuses $bad"
done
req POST /api/folders "${A[@]}" -H 'Content-Type: application/json' -d '{"name":'
expect_error 400 BAD_REQUEST "folder create with bad JSON"
req POST /api/folders "${B[@]}" -H 'Content-Type: application/json' -d '{"name":"B stuff"}'
FB=$(jqb .id)
req GET /api/folders "${A[@]}"
expect_status 200 "folder list"
check "A lists only its folder" eq "$(jqb '[.items[].name] | join(",")')" "Projects/Alpha"
req PATCH "/api/folders/$FA" "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"Projects/Beta"}'
expect_status 200 "folder rename"
check "renamed" eq "$(jqb .name)" "Projects/Beta"
req PATCH "/api/folders/$FB" "${A[@]}" -H 'Content-Type: application/json' -d '{"name":"mine"}'
expect_error 404 NOT_FOUND "A cannot rename B's folder"
req DELETE "/api/folders/$FB" "${A[@]}"
expect_error 404 NOT_FOUND "A cannot delete B's folder"
req PATCH "/api/storage/img/p01.jpg" "${A[@]}" -H 'Content-Type: application/json' -d "{\"folderId\":\"$FB\"}"
expect_error 422 VALIDATION "A cannot file into B's folder"
req PATCH "/api/storage/img/p01.jpg" "${A[@]}" -H 'Content-Type: application/json' -d "{\"folderId\":\"$FA\"}"
expect_status 200 "file into own folder"
req DELETE "/api/folders/$FA" "${A[@]}"
expect_error 409 CONFLICT "non-empty folder cannot be deleted"
req PATCH "/api/storage/img/p01.jpg" "${A[@]}" -H 'Content-Type: application/json' -d '{"folderId":null}'
req DELETE "/api/folders/$FA" "${A[@]}"
expect_status 204 "empty folder deleted"
req DELETE "/api/folders/$FA" "${A[@]}"
expect_error 404 NOT_FOUND "deleted folder is gone"
req DELETE "/api/folders/not-a-uuid" "${A[@]}"
expect_error 404 NOT_FOUND "malformed folder id"
T3=$(mk_tenant folders3)
U3=$(mk_user "$T3" admin)
req PATCH "/api/folders/$FB" -H "Authorization: Bearer $(mk_key "$T3" "$U3")" -H 'Content-Type: application/json' -d '{"name":"x"}'
expect_error 404 NOT_FOUND "another tenant's admin cannot see the folder"
req PUT /api/folders "${A[@]}" --data x
expect_error 405 BAD_REQUEST "PUT on folders is 405"
for i in 1 2 3; do
	curl -s -o /dev/null "${A[@]}" -H 'Content-Type: application/json' -d "{\"name\":\"f$i\"}" "$BASE/api/folders"
done
req GET "/api/folders?limit=2" "${A[@]}"
check "folder page 1" eq "$(jqb '[.items[].name] | join(",")')" "f1,f2"
req GET "/api/folders?limit=2&cursor=$(jqb .nextCursor)" "${A[@]}"
check "folder page 2" eq "$(jqb '[.items[].name] | join(",")')" "f3"

# --- folder names are NFC, like keys, and C1 controls are refused
T4=$(mk_tenant folders4)
U4=$(mk_user "$T4" admin)
A4=(-H "Authorization: Bearer $(mk_key "$T4" "$U4")" -H 'Content-Type: application/json')
req POST /api/folders "${A4[@]}" -d "{\"name\":\"cafe$(printf '\xcc\x81')\"}"
expect_status 201 "folder with a decomposed é"
check "its name is stored in NFC" eq "$(jqb .name)" "café"
req POST /api/folders "${A4[@]}" -d '{"name":"café"}'
expect_error 409 CONFLICT "the composed é names the same folder"
req POST /api/folders "${A4[@]}" -d '{"name":"a\u009bb"}'
expect_error 422 VALIDATION "a C1 control (U+009B) in a folder name is refused"
req POST /api/folders "${A4[@]}" -d '{"name":"a\u00a0b"}'
expect_status 201 "U+00A0 (just past C1) in a folder name is fine"
