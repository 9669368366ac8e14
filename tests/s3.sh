# tests/s3.sh: an S3 endpoint for the tests and benchmarks (s3rver, a
# Node.js S3 emulator; it does not check signatures, so the unit tests
# check ours against AWS's published examples). Source it; bash.
#
# s3_install BUILD
#	Installs s3rver from the npm registry into BUILD/s3rver, once, with
#	the fix of tests/s3rver-fix.js (a PUT answered before its file was
#	written).
# s3_start DIR PORT
#	Starts it on 127.0.0.1:PORT with its data in DIR and a bucket, and
#	exports the S3_* settings the programs read (path style). Sets
#	S3_PID and S3_TEST_DIR.
# s3_stop
#	Stops it. Safe to call twice.
# s3_curl ARGS...: curl signed with the same credentials (--aws-sigv4).

S3_TEST_BUCKET=filestor-test
S3_FIX=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/s3rver-fix.js

s3_install() {
	local dir=$1/s3rver
	if [ -x "$dir/node_modules/.bin/s3rver" ]; then
		node "$S3_FIX" "$dir"
		return
	fi
	command -v npm >/dev/null 2>&1 || {
		echo "s3: npm is missing (tools/install-deps test)" >&2
		return 1
	}
	mkdir -p "$dir"
	# 3.7.1, its last release: tests/s3rver-fix.js fixes its text.
	npm install --silent --no-audit --no-fund --prefix "$dir" s3rver@3.7.1 \
	    >"$dir/install.log" 2>&1 || {
		echo "s3: npm install s3rver@3.7.1 failed:" >&2
		tail -n 20 "$dir/install.log" >&2
		return 1
	}
	node "$S3_FIX" "$dir"
}

s3_start() {
	local dir=$1 port=$2 i
	export S3_TEST_DIR=$dir
	mkdir -p "$dir"
	node "$FILESTOR_S3RVER" -d "$dir" -a 127.0.0.1 -p "$port" \
	    --no-vhost-buckets --configure-bucket "$S3_TEST_BUCKET" \
	    >"$dir.log" 2>&1 &
	S3_PID=$!
	export S3_BUCKET=$S3_TEST_BUCKET
	export S3_ENDPOINT=http://127.0.0.1:$port
	export S3_REGION=us-east-1
	export S3_FORCE_PATH_STYLE=1
	export S3_ACCESS_KEY_ID=S3RVER
	export S3_SECRET_ACCESS_KEY=S3RVER
	for i in $(seq 1 100); do
		if [ "$(s3_curl -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/$S3_BUCKET/")" = 200 ]; then
			# s3rver removes a directory when its last object is
			# deleted, racing with an upload into it (ENOENT, and
			# s3rver dies): every PUT passes through .tmp/ (then a
			# copy and a delete), so that directory never empties.
			# Its listings show only objects, not this file.
			mkdir -p "$dir/$S3_TEST_BUCKET/.tmp" &&
			    : >"$dir/$S3_TEST_BUCKET/.tmp/.keep"
			return 0
		fi
		kill -0 "$S3_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "s3: s3rver did not start:" >&2
	cat "$dir.log" >&2
	return 1
}

s3_stop() {
	if [ -n "${S3_PID:-}" ]; then
		kill "$S3_PID" 2>/dev/null
		wait "$S3_PID" 2>/dev/null
		S3_PID=""
	fi
}

s3_curl() {
	curl -s --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
	    --user "$S3_ACCESS_KEY_ID:$S3_SECRET_ACCESS_KEY" \
	    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
