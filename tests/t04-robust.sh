# Robustness: concurrent PUTs, cut uploads, size limits, a full disk.

TID=$(mk_tenant robust)
UA=$(mk_user "$TID" admin)
KA=$(mk_key "$TID" "$UA")
A=(-H "Authorization: Bearer $KA")
tmpdir=$FILESTOR_DATA_DIR/.tmp

tmp_empty() { [ -z "$(ls -A "$tmpdir" 2>/dev/null)" ]; }

# --- concurrent PUTs of one key: one complete object that matches its row
for i in 1 2 3 4 5 6 7 8; do
	head -c $((1048576 + i)) /dev/urandom >"$TEST_TMP/c$i"
done
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$TEST_TMP/cr$i" "${A[@]}" -X PUT --data-binary @"$TEST_TMP/c$i" \
	    "$BASE/api/storage/race/one.bin" &
done
wait
ok=1
for i in 1 2 3 4 5 6 7 8; do
	case "$(jq -r .size <"$TEST_TMP/cr$i")" in 104857[6-9]|1048580|1048581|1048582|1048583|1048584) ;; *) ok=0 ;; esac
done
check "all concurrent PUTs answered with a row" eq "$ok" 1
req GET /api/storage/race/one.bin "${A[@]}"
got=$(sha256sum <"$TEST_TMP/body" | cut -d' ' -f1)
row=$(tsql "SELECT sha256 || ' ' || size FROM files WHERE key = 'tenants/$TID/race/one.bin'")
check "object matches its row (sha256)" eq "$got" "${row% *}"
check "object matches its row (size)" eq "$(stat -c %s "$TEST_TMP/body")" "${row#* }"
match=0
for i in 1 2 3 4 5 6 7 8; do cmp -s "$TEST_TMP/body" "$TEST_TMP/c$i" && match=1; done
check "object is one of the uploads, whole" eq "$match" 1
check "no temporary files after the race" tmp_empty

# --- a client killed halfway leaves no temporary file and no row
# Behind Apache, mod_fcgid buffers the body in its own temp dir and starts
# put only once all of it has arrived: that is where the upload shows.
# S3: more than one 5 MiB part (S3_PART_BYTES in tests/run), so a
# multipart upload is in flight at s3rver when the client is killed.
inflight=$tmpdir
cutlen=3000000
[ "${SERVER:-lighttpd}" = apache ] && inflight=$FILESTOR_RUN_DIR/apache/tmp
if [ "${STORE:-local}" = s3 ]; then
	inflight=$S3_TEST_DIR/$S3_BUCKET/._S3rver_uploads
	cutlen=6000000
fi
mkfifo "$TEST_TMP/slow"
( head -c "$cutlen" /dev/urandom; sleep 30 ) >"$TEST_TMP/slow" &
feeder=$!
curl -s -o /dev/null "${A[@]}" -H 'Transfer-Encoding:' -H 'Content-Length: 50000000' \
    -T "$TEST_TMP/slow" "$BASE/api/storage/cut/half.bin" &
client=$!
for _ in $(seq 1 50); do
	[ -n "$(ls -A "$inflight" 2>/dev/null)" ] && break
	sleep 0.1
done
check "the upload was in flight (temp file exists)" test -n "$(ls -A "$inflight" 2>/dev/null)"
kill "$client" 2>/dev/null
kill "$feeder" 2>/dev/null
wait "$client" 2>/dev/null
if [ "${STORE:-local}" = s3 ]; then
	# The adapter aborts the multipart upload (DELETE ?uploadId=).
	# s3rver does not implement AbortMultipartUpload: it answers 405 and
	# keeps the parts, so look for the request in its log, not for an
	# empty uploads dir. AWS answers 204.
	# The upload goes to a temporary key (.tmp/<32 hex>) until its row
	# commits (docs/decisions.md, "Publish and delete").
	aborted() { grep -aqE "\.tmp/[0-9a-f]{32}\?uploadId=[^ ]* (204|405) " "$S3_TEST_DIR.log"; }
	for _ in $(seq 1 50); do aborted && break; sleep 0.1; done
	check "killed upload: the multipart upload was aborted" aborted
else
	for _ in $(seq 1 50); do tmp_empty && [ -z "$(ls -A "$inflight" 2>/dev/null)" ] && break; sleep 0.1; done
	check "killed upload: no buffered body left" test -z "$(ls -A "$inflight" 2>/dev/null)"
fi
check "killed upload: no temp file left" tmp_empty
check "killed upload: no row" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/cut/half.bin'")" 0
check "killed upload: no object" obj_absent "tenants/$TID/cut/half.bin"

# --- a body shorter than Content-Length
exec 6<>"/dev/tcp/127.0.0.1/${BASE##*:}"
printf 'PUT /api/storage/short/body.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n0123456789' "$KA" >&6
exec 6>&-
sleep 0.5
check "short body: no row" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/short/body.bin'")" 0
check "short body: no temp file" tmp_empty

# --- a put worker killed mid-upload leaves its temp file; the next
# worker to start removes it (nobody holds the upload's lock any more).
# lighttpd and local disk: Apache hands put a body only once it is whole,
# and S3 keeps no local temp file.
if [ "${SERVER:-lighttpd}" = lighttpd ] && [ "${STORE:-local}" = local ]; then
	if start_server2; then
		rm -f "$TEST_TMP/slow2"
		mkfifo "$TEST_TMP/slow2"
		( head -c 3000000 /dev/urandom; sleep 30 ) >"$TEST_TMP/slow2" &
		feeder=$!
		curl -s -o /dev/null "${A[@]}" -H 'Transfer-Encoding:' -H 'Content-Length: 50000000' \
		    -T "$TEST_TMP/slow2" "$BASE2/api/storage/killed/worker.bin" &
		client=$!
		for _ in $(seq 1 50); do tmp_empty || break; sleep 0.1; done
		check "killed worker: the upload was in flight" test -n "$(ls -A "$tmpdir" 2>/dev/null)"
		kill -9 $(cat "$(cat "$RUN2.sock")/put.pid.workers") 2>/dev/null
		kill "$client" "$feeder" 2>/dev/null
		wait "$client" "$feeder" 2>/dev/null
		sleep 0.5
		check "killed worker: its temp file is left behind" test -n "$(ls -A "$tmpdir" 2>/dev/null)"
		stop_server2
		sleep 5	# the orphan grace (store_local.c)
		if start_server2; then
			for _ in $(seq 1 30); do tmp_empty && break; sleep 0.1; done
			check "killed worker: a starting worker removes the orphan" tmp_empty
			check "killed worker: it says so in the log" grep -q 'temporary files of uploads whose process died' "$RUN2/workers.log"
			check "killed worker: no row" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/killed/worker.bin'")" 0
			stop_server2
		else
			fail "killed worker: second server restarted"
		fi
	else
		fail "killed worker: second server started"
	fi
fi

# --- MAX_UPLOAD_BYTES
if start_server2 MAX_UPLOAD_BYTES=1000; then
	head -c 2000 /dev/urandom >"$TEST_TMP/2k"
	req PUT "$BASE2/api/storage/big/declared.bin" "${A[@]}" --data-binary @"$TEST_TMP/2k"
	expect_error 413 PAYLOAD_TOO_LARGE "413 for a declared length over MAX_UPLOAD_BYTES"
	req PUT "$BASE2/api/storage/big/chunked.bin" "${A[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TEST_TMP/2k"
	expect_error 413 PAYLOAD_TOO_LARGE "413 for a chunked body over MAX_UPLOAD_BYTES"
	head -c 1000 /dev/urandom >"$TEST_TMP/1k"
	req PUT "$BASE2/api/storage/big/exact.bin" "${A[@]}" --data-binary @"$TEST_TMP/1k"
	expect_status 201 "a body of exactly MAX_UPLOAD_BYTES is accepted"
	check "413: no rows" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/big/%' AND key NOT LIKE '%exact.bin'")" 0
	check "413: no temp files" tmp_empty
	stop_server2
else
	fail "server with MAX_UPLOAD_BYTES=1000 started"
fi

# --- a full disk: ENOSPC is 507, and nothing is left behind. The shim
# fails local writes; the S3 adapter writes nothing locally, so S3 mode
# tests the S3 failure instead: an endpoint that does not answer.
if [ "${STORE:-local}" = s3 ]; then
	deadport=$(serve_free_port)
	if start_server2 S3_ENDPOINT="http://127.0.0.1:$deadport"; then
		req PUT "$BASE2/api/storage/down/x.bin" "${A[@]}" --data-binary 'abc'
		expect_error 503 UNAVAILABLE "unreachable S3 endpoint: PUT is a JSON 503"
		check "503: no row" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/down/x.bin'")" 0
		req GET "$BASE2/api/storage/race/one.bin" "${A[@]}"
		expect_error 503 UNAVAILABLE "unreachable S3 endpoint: GET is a JSON 503"
		# A DELETE commits its row's removal first; the object, which
		# cannot go now, is left for filestorctl gc (docs/decisions.md,
		# "Publish and delete").
		printf 'doomed' >"$TEST_TMP/doomed"
		req PUT "/api/storage/down/doomed.bin" "${A[@]}" --data-binary @"$TEST_TMP/doomed"
		expect_status 201 "stored before the endpoint goes"
		req DELETE "$BASE2/api/storage/down/doomed.bin" "${A[@]}"
		expect_status 204 "unreachable S3 endpoint: DELETE still removes the row"
		check "the row is gone" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/down/doomed.bin'")" 0
		check "the object waits for gc" obj_same "tenants/$TID/down/doomed.bin" "$TEST_TMP/doomed"
		check "the worker log has the failure" test -s "$RUN2/workers.log"
		check "no credential in the worker log" eq "$(cat "$RUN2/workers.log" "$FILESTOR_LOG" 2>/dev/null | grep -c -e "$S3_SECRET_ACCESS_KEY" -e 'Signature=' -e 'X-Amz-')" 0
		stop_server2
		"$FILESTORCTL" gc >/dev/null
		check "gc removed the object without a row" obj_absent "tenants/$TID/down/doomed.bin"
	else
		fail "server with an unreachable S3 endpoint started"
	fi
elif [ -r "$FILESTOR_BUILD/tests/enospc.so" ] &&
    start_server2 LD_PRELOAD="$FILESTOR_BUILD/tests/enospc.so" \
    FILESTOR_TEST_ENOSPC_DIR="$FILESTOR_DATA_DIR" FILESTOR_TEST_ENOSPC_AFTER=500000; then
	head -c 1000000 /dev/urandom >"$TEST_TMP/1m"
	req PUT "$BASE2/api/storage/full/disk.bin" "${A[@]}" --data-binary @"$TEST_TMP/1m"
	expect_error 507 INSUFFICIENT_STORAGE "ENOSPC gives 507"
	check "507: no row" eq "$(tsql "SELECT count(*) FROM files WHERE key LIKE 'tenants/$TID/full/disk.bin'")" 0
	check "507: no temp file" tmp_empty
	req GET "$BASE2/api/storage/race/one.bin" "${A[@]}" -o /dev/null
	expect_status 200 "the worker still serves after ENOSPC"
	stop_server2
else
	fail "server with the ENOSPC shim started"
fi

# --- a failing fsync: EIO from a failing disk, ENOSPC from a thin volume
# that runs out at writeback. The PUT fails, and the version before it
# stays, bytes and row. Both the object's own fsync (before the rename
# publishes it) and the directory's (after it). The shim reads its
# control file at each call; S3 has no local fsync.
if [ "${STORE:-local}" = local ]; then
	ctl=$TEST_TMP/fsync.ctl
	: >"$ctl"
	if start_server2 LD_PRELOAD="$FILESTOR_BUILD/tests/enospc.so" \
	    FILESTOR_TEST_ENOSPC_DIR="$FILESTOR_DATA_DIR" FILESTOR_TEST_FSYNC_CTL="$ctl"; then
		vrow() { tsql "SELECT sha256 || ' ' || size || ' ' || updated_at FROM files WHERE key = 'tenants/$TID/sync/v.bin'"; }
		printf 'version one' >"$TEST_TMP/v1"
		req PUT "$BASE2/api/storage/sync/v.bin" "${A[@]}" --data-binary @"$TEST_TMP/v1"
		expect_status 201 "fsync: the first version stored"
		v1row=$(vrow)
		while read -r what err status code; do
			printf '%s %s\n' "$what" "$err" >"$ctl"
			req PUT "$BASE2/api/storage/sync/v.bin" "${A[@]}" --data-binary 'version two' </dev/null
			: >"$ctl"
			expect_error "$status" "$code" "$what fsync $err: $status"
			check "$what fsync $err: the old bytes stay" obj_same "tenants/$TID/sync/v.bin" "$TEST_TMP/v1"
			check "$what fsync $err: the old row stays" eq "$(vrow)" "$v1row"
			check "$what fsync $err: no temp file" tmp_empty
			printf '%s %s\n' "$what" "$err" >"$ctl"
			req PUT "$BASE2/api/storage/sync/new.bin" "${A[@]}" --data-binary 'new' </dev/null
			: >"$ctl"
			expect_error "$status" "$code" "$what fsync $err, a new key: $status"
			check "$what fsync $err, a new key: no object" obj_absent "tenants/$TID/sync/new.bin"
			check "$what fsync $err, a new key: no row" eq "$(tsql "SELECT count(*) FROM files WHERE key = 'tenants/$TID/sync/new.bin'")" 0
		done <<'CASES'
file EIO 500 INTERNAL
file ENOSPC 507 INSUFFICIENT_STORAGE
dir EIO 500 INTERNAL
dir ENOSPC 507 INSUFFICIENT_STORAGE
CASES
		# A body over 2 MiB meets the fault at the first fdatasync that
		# makes it durable as it comes (fio.h, FIO_SYNC_STEP), failed
		# once as Linux reports a writeback error: the PUT must fail
		# then, for the fsync at its end succeeds.
		chmod a+w "$ctl"	# the server empties it
		head -c 3000000 /dev/urandom >"$TEST_TMP/v3"
		while read -r err status code; do
			echo "file $err once" >"$ctl"
			req PUT "$BASE2/api/storage/sync/v.bin" "${A[@]}" --data-binary @"$TEST_TMP/v3"
			expect_error "$status" "$code" "fsync $err mid-way: $status"
			check "fsync $err mid-way: the fault was met" eq "$(cat "$ctl")" ""
			: >"$ctl"
			check "fsync $err mid-way: the old bytes stay" obj_same "tenants/$TID/sync/v.bin" "$TEST_TMP/v1"
			check "fsync $err mid-way: the old row stays" eq "$(vrow)" "$v1row"
			check "fsync $err mid-way: no temp file" tmp_empty
		done <<'CASES'
EIO 500 INTERNAL
ENOSPC 507 INSUFFICIENT_STORAGE
CASES
		req PUT "$BASE2/api/storage/sync/v.bin" "${A[@]}" --data-binary 'version two'
		expect_status 200 "fsync: a PUT succeeds again once the disk does"
		stop_server2
	else
		fail "server with the fsync shim started"
	fi
fi

# --- many bad requests in a row do not take a worker down
for i in $(seq 1 20); do
	curl -s -o /dev/null "${A[@]}" -X PUT "$BASE/api/storage/%2e%2e" --data x
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{{{' "$BASE/api/auth/login"
	curl -s -o /dev/null "${A[@]}" -X PATCH -d '[' "$BASE/api/storage/race/one.bin"
done
req GET /api/storage/race/one.bin "${A[@]}"
expect_status 200 "still serving after a burst of bad requests"
