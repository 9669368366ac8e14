# Running it for real (issue 19, parts 2 and 3): X-Request-Id, GET
# /api/metrics (who may read it, its format, counters that move), and the
# access and audit log (a line per request, what changed, no secret,
# reopened on SIGHUP, whole lines under concurrency).

TID=$(mk_tenant metrics)
UADM=$(mk_user "$TID" admin 'adm1n-passw0rd' "m$RANDOM@example.com")
UUSR=$(mk_user "$TID" authenticated)
KADM=$(mk_key "$TID" "$UADM")
KUSR=$(mk_key "$TID" "$UUSR")
ADM=(-H "Authorization: Bearer $KADM")
USR=(-H "Authorization: Bearer $KUSR")
EMAIL=$(tsql "SELECT email FROM users WHERE id = '$UADM'")

# --- X-Request-Id
req GET /api/auth/me "${ADM[@]}" -H 'X-Request-Id: t20-abc.1:2'
check "request id: a sane one is echoed" eq "$(hdr X-Request-Id)" "t20-abc.1:2"
req GET /api/auth/me "${ADM[@]}"
id1=$(hdr X-Request-Id)
check "request id: made when absent (32 hex)" eq "$(printf '%s' "$id1" | grep -cE '^[0-9a-f]{32}$')" 1
req GET /api/auth/me "${ADM[@]}"
check "request id: a new one per request" neq "$(hdr X-Request-Id)" "$id1"
req GET /api/auth/me "${ADM[@]}" -H 'X-Request-Id: bad id<script>'
check "request id: an insane one is replaced" eq "$(hdr X-Request-Id | grep -cE '^[0-9a-f]{32}$')" 1
req GET /api/auth/me "${ADM[@]}" -H "X-Request-Id: $(printf 'a%.0s' $(seq 1 65))"
check "request id: a 65-byte one is replaced" eq "$(hdr X-Request-Id | grep -cE '^[0-9a-f]{32}$')" 1
req GET /api/storage/t20/nope "${ADM[@]}" -H 'X-Request-Id: t20-err'
expect_error 404 NOT_FOUND "request id: an error"
check "request id: in the error body" eq "$(jqb .error.requestId)" "t20-err"
check "request id: in the error's header" eq "$(hdr X-Request-Id)" "t20-err"
req GET /api/nosuch -H 'X-Request-Id: t20-404'
check "request id: in dispatch's 404 body" eq "$(jqb .error.requestId)" "t20-404"

# --- GET /api/metrics: the format, strictly (promtool is not in Debian's
# stable prometheus package here; this is its rules for the text format
# 0.0.4, plus the histogram invariants).
cat >"$TEST_TMP/promcheck.py" <<'EOF'
import math, re, sys
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
VALUE = r'(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|NaN|[+-]Inf)'
SAMPLE = re.compile(r'^(%s)(?:\{((?:%s="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (%s)(?: -?[0-9]+)?$' % (NAME, LABEL, VALUE))
PAIR = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"' % LABEL)
def die(n, msg, line):
    sys.exit('line %d: %s: %r' % (n, msg, line))
text = sys.stdin.read()
if not text.endswith('\n'):
    sys.exit('no final newline')
types, helps, done, seen, cur = {}, set(), set(), set(), None
hist = {}
for n, line in enumerate(text.split('\n')[:-1], 1):
    if line.startswith('#'):
        m = re.match(r'^# (HELP|TYPE) (%s) (.*)$' % NAME, line)
        if not m:
            if line.startswith('# HELP') or line.startswith('# TYPE'):
                die(n, 'malformed HELP/TYPE', line)
            continue
        kind, name, rest = m.groups()
        if name in done or (cur is not None and cur != name and name in types):
            die(n, 'family not contiguous', line)
        if cur is not None and cur != name:
            done.add(cur)
        cur = name
        if kind == 'TYPE':
            if name in types or rest not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                die(n, 'bad or repeated TYPE', line)
            types[name] = rest
        else:
            if name in helps:
                die(n, 'repeated HELP', line)
            helps.add(name)
        continue
    m = SAMPLE.match(line)
    if not m:
        die(n, 'not a sample', line)
    name, labels, value = m.group(1), m.group(2) or '', m.group(3)
    fam = name
    for suf in ('_bucket', '_sum', '_count'):
        if name.endswith(suf) and types.get(name[:-len(suf)]) == 'histogram':
            fam = name[:-len(suf)]
    if fam not in types:
        die(n, 'sample before its TYPE', line)
    if fam != cur:
        die(n, 'sample outside its family', line)
    pairs = PAIR.findall(labels)
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        die(n, 'repeated label', line)
    key = (name, tuple(sorted(pairs)))
    if key in seen:
        die(n, 'duplicate series', line)
    seen.add(key)
    v = float(value.replace('Inf', 'inf'))
    if types[fam] == 'counter' and not v >= 0:
        die(n, 'negative counter', line)
    if types[fam] == 'histogram':
        rest = tuple(sorted(p for p in pairs if p[0] != 'le'))
        h = hist.setdefault((fam, rest), {'b': [], 'count': None})
        if name.endswith('_bucket'):
            le = dict(pairs).get('le')
            if le is None:
                die(n, 'bucket without le', line)
            h['b'].append((float(le.replace('Inf', 'inf')), v))
        elif name.endswith('_count'):
            h['count'] = v
for (fam, rest), h in hist.items():
    b = h['b']
    if not b or b[-1][0] != math.inf:
        sys.exit('%s%s: no +Inf bucket' % (fam, rest))
    if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
        sys.exit('%s%s: buckets not ascending and cumulative' % (fam, rest))
    if h['count'] != b[-1][1]:
        sys.exit('%s%s: _count is not the +Inf bucket' % (fam, rest))
print('ok %d series' % len(seen))
EOF
promcheck() { python3 "$TEST_TMP/promcheck.py" <"$1"; }
# The checker itself must fail on bad input.
printf 'x_total 1\n' >"$TEST_TMP/bad1"
printf '# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n' >"$TEST_TMP/bad2"
printf '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 0\nh_count 1\n' >"$TEST_TMP/bad3"
printf '# TYPE a counter\na{x="1} 1\n' >"$TEST_TMP/bad4"
for b in 1 2 3 4; do
	check "format check: refuses bad input $b" neq "$(promcheck "$TEST_TMP/bad$b" >/dev/null 2>&1; echo $?)" 0
done

# metrics [URL [curl args]]: fetch into $TEST_TMP/metrics (via req).
metrics() {
	local url=${1:-$BASE}
	shift || true
	req GET "$url/api/metrics" "$@"
	cp "$TEST_TMP/body" "$TEST_TMP/metrics"
}
# m SERIES: its value (SERIES as written: name{labels}), 0 when absent.
m() {
	awk -v s="$1" 'index($0, s " ") == 1 { print $2; f = 1 } END { if (!f) print 0 }' \
	    "$TEST_TMP/metrics"
}
# grew SERIES BEFORE N: the series is now BEFORE + N.
grew() { eq "$(m "$1")" "$(( $2 + $3 ))"; }

metrics
expect_status 200 "metrics: 200 from loopback without a key"
check "metrics: Content-Type of the text format 0.0.4" eq "$(hdr Content-Type)" \
    "text/plain; version=0.0.4; charset=utf-8"
check "metrics: Cache-Control no-store" eq "$(hdr Cache-Control)" "no-store"
promcheck "$TEST_TMP/metrics" >"$TEST_TMP/promcheck.out" 2>&1
check "metrics: passes the strict format check ($(cat "$TEST_TMP/promcheck.out"))" \
    grep -q '^ok' "$TEST_TMP/promcheck.out"
for fam in filestor_http_requests_total filestor_http_request_duration_seconds \
    filestor_http_request_bytes_total filestor_http_response_bytes_total \
    filestor_transforms_total filestor_transform_duration_seconds \
    filestor_rendition_cache_lookups_total filestor_rendition_cache_hit_ratio \
    filestor_uploads_total filestor_relay_requests_total \
    filestor_relay_connections_total filestor_login_failures_total \
    filestor_rate_limited_total filestor_agents_online; do
	check "metrics: family $fam" grep -q "^# TYPE $fam " "$TEST_TMP/metrics"
done
req HEAD /api/metrics
expect_status 200 "metrics: HEAD is 200"
check "metrics: HEAD has no body" eq "$(raw_head /api/metrics)" 0
req GET '/api/metrics?x=1'
expect_error 422 VALIDATION "metrics: an unknown parameter is 422"
req POST /api/metrics --data ''
expect_error 405 BAD_REQUEST "metrics: POST is 405"

# --- who may read it: a proxy's header takes loopback away; then only an
# admin key. (The REMOTE_ADDR rule itself: below, from a non-loopback
# address, and tests/unit/test_app.c.)
req GET /api/metrics -H 'X-Forwarded-For: 203.0.113.7'
expect_error 401 UNAUTHORIZED "metrics: through a proxy without a key, 401"
req GET /api/metrics -H 'Forwarded: for=203.0.113.7'
expect_error 401 UNAUTHORIZED "metrics: Forwarded counts as a proxy too"
req GET /api/metrics -H 'X-Forwarded-For: 127.0.0.1'
expect_error 401 UNAUTHORIZED "metrics: a forwarded 127.0.0.1 grants nothing"
req GET /api/metrics -H 'X-Forwarded-For: 203.0.113.7' "${USR[@]}"
expect_error 403 FORBIDDEN "metrics: through a proxy with a user's key, 403"
req GET /api/metrics -H 'X-Forwarded-For: 203.0.113.7' "${ADM[@]}"
expect_status 200 "metrics: through a proxy with an admin key, 200"

# --- counters move as requests are made
metrics
auth_ok=$(m 'filestor_http_requests_total{program="auth",method="GET",code="200"}')
auth_401=$(m 'filestor_http_requests_total{program="auth",method="GET",code="401"}')
auth_n=$(m 'filestor_http_request_duration_seconds_count{program="auth"}')
put_in=$(m 'filestor_http_request_bytes_total{program="put"}')
get_out=$(m 'filestor_http_response_bytes_total{program="get"}')
put_201=$(m 'filestor_http_requests_total{program="put",method="PUT",code="201"}')
fails=$(m 'filestor_login_failures_total')
for _ in 1 2 3; do req GET /api/auth/me "${ADM[@]}"; done
req GET /api/auth/me
head -c 4096 /dev/urandom >"$TEST_TMP/4k.bin"
req PUT /api/storage/t20/4k.bin "${ADM[@]}" -T "$TEST_TMP/4k.bin"
expect_status 201 "counters: a 4 KiB PUT"
req GET /api/storage/t20/4k.bin "${ADM[@]}"
req POST /api/auth/login -H 'Content-Type: application/json' \
    --data "{\"email\":\"$EMAIL\",\"password\":\"wrong\"}"
expect_error 401 UNAUTHORIZED "counters: a failed login"
metrics
check "counters: auth GET 200 +3" grew 'filestor_http_requests_total{program="auth",method="GET",code="200"}' "$auth_ok" 3
check "counters: auth GET 401 +1" grew 'filestor_http_requests_total{program="auth",method="GET",code="401"}' "$auth_401" 1
check "counters: auth latency histogram +5 (the login too)" grew 'filestor_http_request_duration_seconds_count{program="auth"}' "$auth_n" 5
check "counters: put PUT 201 +1" grew 'filestor_http_requests_total{program="put",method="PUT",code="201"}' "$put_201" 1
check "counters: 4096 request bytes for put" grew 'filestor_http_request_bytes_total{program="put"}' "$put_in" 4096
check "counters: 4096 response bytes for get" grew 'filestor_http_response_bytes_total{program="get"}' "$get_out" 4096
check "counters: one login failure" grew 'filestor_login_failures_total' "$fails" 1
check "counters: still a valid exposition" promcheck "$TEST_TMP/metrics"

# --- transforms: count, time, cache hits
# (convert with ImageMagick's own policy, not the server's.)
env -u MAGICK_CONFIGURE_PATH convert -size 16x16 xc:red "png:$TEST_TMP/red.png"
req PUT /api/storage/t20/red.png "${ADM[@]}" -H 'Content-Type: image/png' -T "$TEST_TMP/red.png"
tok=$(m 'filestor_transforms_total{result="ok"}')
hits=$(m 'filestor_rendition_cache_lookups_total{result="hit"}')
miss=$(m 'filestor_rendition_cache_lookups_total{result="miss"}')
tn=$(m 'filestor_transform_duration_seconds_count')
req GET '/api/storage/t20/red.png?width=8&format=png' "${ADM[@]}"
expect_status 200 "transform: a rendition"
req GET '/api/storage/t20/red.png?width=8&format=png' "${ADM[@]}"
check "transform: the second is a hit" eq "$(hdr X-Rendition)" "hit"
metrics
check "transform: one transform ran" grew 'filestor_transforms_total{result="ok"}' "$tok" 1
check "transform: its time observed" grew 'filestor_transform_duration_seconds_count' "$tn" 1
check "transform: one miss" grew 'filestor_rendition_cache_lookups_total{result="miss"}' "$miss" 1
check "transform: one hit" grew 'filestor_rendition_cache_lookups_total{result="hit"}' "$hits" 1
ratio=$(m filestor_rendition_cache_hit_ratio)
check "transform: hit ratio is hits over lookups ($ratio)" awk -v r="$ratio" \
    -v h="$((hits + 1))" -v l="$((hits + miss + 2))" 'BEGIN { exit !(r - h / l < 1e-9 && h / l - r < 1e-9) }'

# --- the access log, on a second server: ACCESS_LOG, small login limits,
# and, when this host has an address other than loopback, bound to it,
# so that REMOTE_ADDR is not loopback.
LOGD=$FILESTOR_STATE/t20-log
mkdir -p "$LOGD"
[ "$(id -u)" -ne 0 ] || chown "$FILESTOR_USER:" "$LOGD"
LOG=$LOGD/access.log
ext=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
if ! start_server2 ACCESS_LOG="$LOG" LOGIN_MAX_FAILURES=2 ${ext:+FILESTOR_BIND=$ext}; then
	fail "log: second server started"
	return 0 2>/dev/null || exit 0
fi
B2=$BASE2
[ -n "$ext" ] && B2=http://$ext:${BASE2##*:}
if [ -n "$ext" ]; then
	metrics "$B2"
	expect_error 401 UNAUTHORIZED "metrics: from $ext (not loopback) without a key, 401"
	metrics "$B2" "${ADM[@]}"
	expect_status 200 "metrics: from $ext with an admin key, 200"
else
	echo "  note: no address but loopback here; the REMOTE_ADDR rule is in test_app" >&2
fi
# From here on, the lines of r2's requests only.
: >"$LOG"

# r2 METHOD PATH [curl args]: a request to the second server with an id.
n2=0
r2() {
	local m=$1 p=$2
	shift 2
	n2=$((n2 + 1))
	req "$m" "$B2$p" -H "X-Request-Id: t20-$n2" "$@"
}
# line ID: the log line of request id ID.
line() { grep -F "\"requestId\":\"$1\"" "$LOG" | head -n 1; }
# changed ID ACTION [TARGET [DETAIL]]: line ID has that change.
changed() {
	line "$1" | jq -e --arg a "$2" --arg t "${3-}" --arg d "${4-}" \
	    '.changes | any(.action == $a and ($t == "" or .target == $t) and
	     ($d == "" or .detail == $d))' >/dev/null
}
J=(-H 'Content-Type: application/json')

r2 PUT /api/storage/t20/log/a.txt "${ADM[@]}" --data-binary 'one'
expect_status 201 "log: put"; id_put=$n2
check "log: the file exists" test -f "$LOG"
r2 PUT /api/storage/t20/log/a.txt "${ADM[@]}" --data-binary 'two!'
expect_status 200 "log: overwrite"; id_over=$n2
r2 PATCH /api/storage/t20/log/a.txt "${ADM[@]}" "${J[@]}" --data '{"acl":"public"}'
expect_status 200 "log: acl"; id_acl=$n2
r2 POST /api/folders "${ADM[@]}" "${J[@]}" --data '{"name":"t20f"}'
expect_status 201 "log: folder create"; id_fc=$n2; FID=$(jqb .id)
r2 PATCH "/api/folders/$FID" "${ADM[@]}" "${J[@]}" --data '{"name":"t20g"}'
expect_status 200 "log: folder rename"; id_fr=$n2
r2 PATCH /api/storage/t20/log/a.txt "${ADM[@]}" "${J[@]}" --data "{\"folderId\":\"$FID\"}"
expect_status 200 "log: file to folder"; id_ff=$n2
r2 PATCH /api/storage/t20/log/a.txt "${ADM[@]}" "${J[@]}" --data '{"folderId":null}'
id_fn=$n2
r2 DELETE "/api/folders/$FID" "${ADM[@]}"
expect_status 204 "log: folder delete"; id_fd=$n2
r2 POST /api/storage/t20/log/a.txt/sign "${ADM[@]}" "${J[@]}" --data '{}'
expect_status 200 "log: sign"
SURL=$(jqb .url)
STOK=${SURL#*token=}
STOK=${STOK%%&*}
r2 GET "/api/storage/t20/log/a.txt?token=$STOK"
expect_status 200 "log: download by signed URL"; id_tok=$n2
r2 DELETE /api/storage/t20/log/a.txt "${ADM[@]}"
expect_status 204 "log: delete"; id_del=$n2
# agents: token, enroll, heartbeat, tunnel enable/rotate/disable, delete
r2 POST /api/agents/enroll-tokens "${ADM[@]}" "${J[@]}" --data '{}'
expect_status 201 "log: enroll token"; id_et=$n2; ET=$(jqb .token)
r2 POST /api/agents/enroll "${J[@]}" --data "{\"token\":\"$ET\",\"name\":\"t20\",\"allowedRoots\":[\"/srv\"]}"
expect_status 201 "log: enroll"; id_en=$n2
AID=$(jqb .agentId); ASEC=$(jqb .agentSecret)
r2 POST /api/agents/heartbeat "${J[@]}" -H "Authorization: Bearer $AID.$ASEC" --data '{"version":"t20"}'
expect_status 200 "log: heartbeat"; id_hb=$n2
r2 POST "/api/agents/$AID/tunnel" "${ADM[@]}" "${J[@]}" --data '{"hostname":"t20.example.com"}'
expect_status 200 "log: tunnel enable"; id_te=$n2; TK1=$(jqb .signingKey)
r2 POST "/api/agents/$AID/tunnel/rotate" "${ADM[@]}" --data ''
expect_status 200 "log: tunnel rotate"; id_tr=$n2; TK2=$(jqb .signingKey)
metrics "$BASE"
# Online is a relay holding the agent's WebSocket (t16 runs real ones):
# the row a relay writes, by hand.
on0=$(m filestor_agents_online)
tsql "INSERT INTO agent_relays VALUES ('$AID', '', 't20', 0)"
metrics "$BASE"
check "metrics: an agent a relay holds counts as online" eq "$(m filestor_agents_online)" $((on0 + 1))
tsql "DELETE FROM agent_relays WHERE conn = 't20'"
r2 DELETE "/api/agents/$AID/tunnel" "${ADM[@]}"
expect_status 204 "log: tunnel disable"; id_td=$n2
r2 DELETE "/api/agents/$AID" "${ADM[@]}"
expect_status 204 "log: agent delete"; id_ad=$n2
# a session: login, a change by cookie, logout
r2 POST /api/auth/login "${J[@]}" -c "$TEST_TMP/jar" \
    --data "{\"email\":\"$EMAIL\",\"password\":\"adm1n-passw0rd\"}"
expect_status 200 "log: login"; id_li=$n2
COOKIE=$(awk '$6 == "filestor_session" { print $7 }' "$TEST_TMP/jar")
r2 PUT /api/storage/t20/log/b.txt -b "$TEST_TMP/jar" -H 'X-Requested-With: t' --data-binary 'b'
expect_status 201 "log: put by session"; id_sput=$n2
r2 POST /api/auth/logout -b "$TEST_TMP/jar" -H 'X-Requested-With: t' --data ''
expect_status 204 "log: logout"; id_lo=$n2
# an API key made and revoked over the API
r2 POST /api/auth/keys "${ADM[@]}" "${J[@]}" --data '{"name":"t20"}'
expect_status 201 "log: key create"; id_kc=$n2; NKID=$(jqb .id); NKEY=$(jqb .key)
r2 DELETE "/api/auth/keys/$NKID" "${ADM[@]}"
expect_status 204 "log: key revoke"; id_kr=$n2
# the rate limit: LOGIN_MAX_FAILURES=2
rl=$(m 'filestor_rate_limited_total{what="login"}')
for _ in 1 2 3; do
	r2 POST /api/auth/login "${J[@]}" --data "{\"email\":\"rl-$RANDOM@example.com\",\"password\":\"pw-secret-x\"}"
done
r2 POST /api/auth/login "${J[@]}" --data '{"email":"rl@example.com","password":"pw-secret-x"}'
r2 POST /api/auth/login "${J[@]}" --data '{"email":"rl@example.com","password":"pw-secret-x"}'
r2 POST /api/auth/login "${J[@]}" --data '{"email":"rl@example.com","password":"pw-secret-x"}'
expect_error 429 TOO_MANY_REQUESTS "log: the third failure is rate-limited"; id_429=$n2
r2 GET /api/storage/t20/nope "${USR[@]}"
expect_error 404 NOT_FOUND "log: a 404"; id_404=$n2
metrics "$BASE"
check "metrics: a rate-limit hit counted" grew 'filestor_rate_limited_total{what="login"}' "$rl" 1

# One line per request, each a JSON object, each with its id.
check "log: one line per request ($n2)" eq "$(wc -l <"$LOG")" "$n2"
check "log: every line is a JSON object" eq "$(jq -c 'select(type == "object")' "$LOG" 2>/dev/null | wc -l)" "$n2"
check "log: ids 1..$n2, in order" eq "$(jq -r .requestId "$LOG" | tr '\n' ' ')" \
    "$(for i in $(seq 1 "$n2"); do printf 't20-%s ' "$i"; done)"
check "log: every line has the fields" eq "$(jq -c 'select((.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$")) and (.program | type == "string") and (.method | type == "string") and (.status | type == "number") and (.bytesIn | type == "number") and (.bytesOut | type == "number") and (.durationMs | type == "number"))' "$LOG" | wc -l)" "$n2"
KID=$(tsql "SELECT id FROM api_keys WHERE user_id = '$UADM' AND id != '$NKID'")
check "log: put's line" eq "$(line "t20-$id_put" | jq -c '[.program, .method, .route, .path, .status, .bytesIn, .tenant, .principal.kind, .principal.user, .principal.key]')" \
    "[\"put\",\"PUT\",\"/api/storage/**\",\"/api/storage/t20/log/a.txt\",201,3,\"$TID\",\"apikey\",\"$UADM\",\"$KID\"]"
check "log: put create" changed "t20-$id_put" put t20/log/a.txt create
check "log: put overwrite" changed "t20-$id_over" put t20/log/a.txt overwrite
check "log: acl public" changed "t20-$id_acl" acl t20/log/a.txt public
check "log: folder create" changed "t20-$id_fc" folder-create "$FID"
check "log: folder rename" changed "t20-$id_fr" folder-rename "$FID"
check "log: file into a folder" changed "t20-$id_ff" folder t20/log/a.txt "$FID"
check "log: file out of its folder" changed "t20-$id_fn" folder t20/log/a.txt none
check "log: folder delete" changed "t20-$id_fd" folder-delete "$FID"
check "log: delete" changed "t20-$id_del" delete t20/log/a.txt
check "log: enroll token" changed "t20-$id_et" enroll-token-create
check "log: agent enroll" changed "t20-$id_en" agent-enroll "$AID"
check "log: tunnel enable" changed "t20-$id_te" tunnel-enable "$AID" t20.example.com
check "log: tunnel rotate" changed "t20-$id_tr" tunnel-rotate "$AID"
check "log: tunnel disable" changed "t20-$id_td" tunnel-disable "$AID"
check "log: agent delete" changed "t20-$id_ad" agent-delete "$AID"
check "log: login" changed "t20-$id_li" login "$UADM" session
check "log: put by session" changed "t20-$id_sput" put t20/log/b.txt create
check "log: logout" changed "t20-$id_lo" logout "$UADM"
check "log: key create" changed "t20-$id_kc" key-create "$NKID"
check "log: key revoke" changed "t20-$id_kr" key-revoke "$NKID"
check "log: the session's principal" eq "$(line "t20-$id_sput" | jq -c '[.principal.kind, .principal.user, .principal.key]')" \
    "[\"session\",\"$UADM\",null]"
check "log: the signed URL's principal" eq "$(line "t20-$id_tok" | jq -c '[.principal.kind, .tenant, .path]')" \
    "[\"token\",\"$TID\",\"/api/storage/t20/log/a.txt\"]"
check "log: the agent's principal" eq "$(line "t20-$id_hb" | jq -c '[.principal.kind, .principal.agent]')" "[\"agent\",\"$AID\"]"
check "log: a 429 line" eq "$(line "t20-$id_429" | jq -c '[.status, .route]')" '[429,"/api/auth/login"]'
check "log: a 404 line" eq "$(line "t20-$id_404" | jq .status)" 404
check "log: reads change nothing" eq "$(line "t20-$id_tok" | jq -c .changes)" null
# No secret in any line: keys, the session, the signed URL's token, the
# agent's and the tunnel's secrets, the enrollment token, passwords.
for s in "$KADM" "$KUSR" "$NKEY" "$COOKIE" "$STOK" "$ASEC" "$ET" "$TK1" "$TK2" \
    adm1n-passw0rd pw-secret-x; do
	check "log: no secret (${s:0:6}...)" eq "$(grep -cF -- "$s" "$LOG")" 0
done
check "log: the secrets were real" test -n "$COOKIE" -a -n "$STOK" -a -n "$ASEC" -a -n "$TK2"

# SIGHUP: rename the file, signal every worker of the second server, and
# the next line goes to a new file. Under lighttpd the signal is sent by
# the postrotate script of the shipped etc/logrotate.d/filestor, pointed
# at the second server's socket directory (the pools' pid files; its
# systemctl line, for the units, is left out): each pool passes the
# signal on to its workers.
workers2() {
	local f p exe
	for f in $(grep -lzxF "FILESTOR_RUN_DIR=$RUN2" /proc/[0-9]*/environ 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/environ}
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
		case "$exe" in */cgi-bin/*) echo "$p" ;; esac
	done
}
mv "$LOG" "$LOG.1"
pids=$(workers2)
check "hup: the workers found" test -n "$pids"
if [ "$SERVER" = lighttpd ]; then
	sock2=$(cat "$RUN2.sock")
	pools=$(cat "$sock2"/*.pid)
	sed -n '/postrotate/,/endscript/p' "$FILESTOR_TOP/etc/logrotate.d/filestor" |
	    sed '1d;$d;/systemctl/d' | sed "s#/run/filestor/sock#$sock2#g" >"$TEST_TMP/postrotate"
	check "hup: the logrotate snippet's postrotate runs" sh -e "$TEST_TMP/postrotate"
else
	pools=""
	kill -HUP $pids
fi
r2 GET /api/auth/me "${ADM[@]}"
expect_status 200 "hup: a request after the signal"
check "hup: the new file has the line" wait_for 5 grep -qF '"requestId":"t20-'"$n2"'"' "$LOG"
check "hup: the old file does not" eq "$(grep -cF '"requestId":"t20-'"$n2"'"' "$LOG.1")" 0
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "hup: no worker died of it" eq "$alive" "$(echo $pids | wc -w)"
for p in $pools; do
	check "hup: pool $p still runs" kill -0 "$p"
done

# Whole lines under concurrency: 32 requests, 8 at a time.
: >"$LOG"
seq 1 32 | xargs -P 8 -I{} curl -s -o /dev/null -H "X-Request-Id: par-{}" \
    -H "Authorization: Bearer $KADM" "$B2/api/auth/me"
check "log: 32 concurrent requests, 32 whole lines" eq \
    "$(jq -r 'select(.requestId | startswith("par-")) | .requestId' "$LOG" 2>/dev/null | sort -u | wc -l)" 32
stop_server2
