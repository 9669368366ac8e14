# The WS relay (issue 15, docs/relay.md): a real filestor-agent keeps a
# WebSocket to filestor-relay through the web server; downloads and
# listings come over it when the agent has no tunnel.

AGENT_BIN=$FILESTOR_BUILD/filestor-agent
AGENT_PID=
APORT=$(serve_free_port)
AORIGIN="http://127.0.0.1:$APORT"
export XDG_CONFIG_HOME=$TEST_TMP/xdg16
CFG=$XDG_CONFIG_HOME/filestor-agent/config.json
export FILESTOR_AGENT_TIME_SCALE=0.05

start_agent() {
	"$AGENT_BIN" run --listen "127.0.0.1:$APORT" "$@" 2>>"$TEST_TMP/agent16.log" &
	AGENT_PID=$!
	agent_wait
}
trap stop_agent EXIT
# online ID: GET /api/agents says the agent is online (1) or not (0).
online_is() {
	req GET /api/agents "${ADM[@]}"
	[ "$(jqb --arg id "$1" '.items[] | select(.id == $id) | .online')" = "$2" ]
}
relay_state() { "$AGENT_BIN" status --listen "127.0.0.1:$APORT" 2>/dev/null | sed -n 's/^relay: *//p'; }
# content AGENT PATH [curl args]: GET /api/file/content (no redirects).
content() {
	local a=$1 p=$2
	shift 2
	req GET "/api/file/content?agent=$a&path=$(jq -rn --arg p "$p" '$p|@uri')" "$@"
}

# --- an enrolled agent, no tunnel
TID=$(mk_tenant relay)
UADM=$(mk_user "$TID" admin)
ADM=(-H "Authorization: Bearer $(mk_key "$TID" "$UADM")")
R1=$TEST_TMP/r16
mkdir -p "$R1/sub" "$TEST_TMP/outside16"
printf 'relay bytes\n' >"$R1/f.txt"
head -c 3000000 /dev/urandom >"$R1/big.bin"
printf 'secret\n' >"$TEST_TMP/outside16/s.txt"
ln -s "$TEST_TMP/outside16/s.txt" "$R1/escape.txt"
ET=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
AID=$("$AGENT_BIN" enroll --server "$BASE" --token "$ET" --name relay16 --allowed-roots "$R1" 2>/dev/null)
check "t16: agent enrolled" eq "$(printf '%s' "$AID" | grep -cE '^[0-9a-f-]{36}$')" 1
SECRET=$(jq -r .agentSecret "$CFG")

# --- the upgrade route: a bad credential is 401 before any upgrade
ws_hdrs=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13'
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: filestor-relay.v1')
req GET /api/agents/connect "${ws_hdrs[@]}" -H "Authorization: Bearer $AID.fsa_wrong"
expect_error 401 UNAUTHORIZED "connect with a wrong secret"
req GET /api/agents/connect "${ws_hdrs[@]}"
expect_error 401 UNAUTHORIZED "connect without a credential"

# --- offline until the agent runs
check "agent offline before it runs" online_is "$AID" false
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_error 503 UNAVAILABLE "download from an offline agent"
check "offline: Retry-After" test -n "$(hdr Retry-After)"

start_agent
check "agent serves" test -n "$AGENT_PID"
check "agent comes online" wait_for 5 online_is "$AID" true
check "status shows the relay connected" eq "$(relay_state)" connected

# --- downloads through the relay (no tunnel)
# rmetric SERIES: its value in GET /api/metrics (loopback), 0 when absent;
# with two front ends (HOSTS=2) the sum of both hosts' counters.
rmetric() {
	local b
	for b in "$BASE" ${BASE_B:+"$BASE_B"}; do
		curl -s "$b/api/metrics"
	done | awk -v s="$1" 'index($0, s " ") == 1 { t += $2 } END { print t + 0 }'
}
check "metrics: the relay counted the connection" test \
    "$(rmetric 'filestor_relay_connections_total{event="connected"}')" -ge 1
RQ0=$(rmetric 'filestor_relay_requests_total{result="ok"}')
RB0=$(rmetric filestor_relay_bytes_total)
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_status 200 "relay download"
check "metrics: a relayed download counted" eq \
    "$(rmetric 'filestor_relay_requests_total{result="ok"}')" $((RQ0 + 1))
check "metrics: its bytes counted" eq "$(rmetric filestor_relay_bytes_total)" $((RB0 + $(stat -c %s "$R1/f.txt")))
check "relay body" eq "$(body)" "relay bytes"
check "relay Cache-Control" eq "$(hdr Cache-Control)" "private, no-store"
check "relay Content-Type" has "$(hdr Content-Type)" "text/plain"
check "relay Content-Disposition" has "$(hdr Content-Disposition)" "f.txt"
ETAG=$(hdr ETag)
check "relay ETag strong" has "$ETAG" '"'
check "relay Last-Modified" test -n "$(hdr Last-Modified)"
content "$AID" "$R1/big.bin" "${ADM[@]}"
expect_status 200 "relay download of 3 MB (flow control)"
check "3 MB bytes equal" cmp -s "$TEST_TMP/body" "$R1/big.bin"
content "$AID" "$R1/big.bin" "${ADM[@]}" -H 'Range: bytes=1000-1999'
expect_status 206 "relay Range"
check "range bytes" cmp -s "$TEST_TMP/body" <(tail -c +1001 "$R1/big.bin" | head -c 1000)
check "Content-Range" eq "$(hdr Content-Range)" "bytes 1000-1999/3000000"
content "$AID" "$R1/big.bin" "${ADM[@]}" -H 'Range: bytes=-10'
expect_status 206 "relay suffix Range"
check "suffix bytes" cmp -s "$TEST_TMP/body" <(tail -c 10 "$R1/big.bin")
content "$AID" "$R1/f.txt" "${ADM[@]}" -H 'Range: bytes=500-'
expect_error 416 RANGE_NOT_SATISFIABLE "relay unsatisfiable Range"
check "416 Content-Range" eq "$(hdr Content-Range)" "bytes */12"
content "$AID" "$R1/f.txt" "${ADM[@]}" -H "If-None-Match: $ETAG"
expect_status 304 "relay If-None-Match"
check "304 ETag" eq "$(hdr ETag)" "$ETAG"
content "$AID" "$R1/f.txt" "${ADM[@]}" -H 'Range: bytes=0-4' -H 'If-Range: "other"'
expect_status 200 "relay If-Range that does not hold: whole body"
content "$AID" "$R1/f.txt" "${ADM[@]}" -H 'Range: bytes=0-4' -H "If-Range: $ETAG"
expect_status 206 "relay If-Range that holds"
check "If-Range body" eq "$(body)" "relay"
req HEAD "/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/big.bin" '$p|@uri')" "${ADM[@]}"
expect_status 200 "relay HEAD"
check "HEAD Content-Length" eq "$(hdr Content-Length)" 3000000
check "HEAD no body" eq "$(raw_head "/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/big.bin" '$p|@uri')" "${ADM[1]}")" 0

# --- the agent's own checks
content "$AID" "$R1/escape.txt" "${ADM[@]}"
expect_error 403 FORBIDDEN "symlink escape: 403"
check "symlink escape message" eq "$(jqb .error.message)" "path not allowed"
content "$AID" "$TEST_TMP/outside16/s.txt" "${ADM[@]}"
expect_error 403 FORBIDDEN "outside the roots: 403"
content "$AID" "$R1/nope.txt" "${ADM[@]}"
expect_error 404 NOT_FOUND "missing file: 404"
content "$AID" "$R1/sub" "${ADM[@]}"
expect_error 404 NOT_FOUND "a directory: 404"

# --- listings through the relay
# files AGENT PATH [curl args]: GET /api/agents/<id>/files?path=PATH.
files() {
	local a=$1 p=$2
	shift 2
	req GET "/api/agents/$a/files?path=$(jq -rn --arg p "$p" '$p|@uri')" "$@"
}
for i in 1 2 3 4 5; do printf '%s' "$i" >"$R1/sub/n$i.txt"; done
mkdir -p "$R1/sub/zdir"
files "$AID" "$R1/sub" "${ADM[@]}" --data-urlencode limit=2 -G
expect_status 200 "listing, page 1"
check "page 1 names" eq "$(jqb -c '[.items[].name]')" '["n1.txt","n2.txt"]'
check "page 1 entry" eq "$(jqb -c '.items[0] | [.type, .size, (.modifiedAt | test("Z$"))]')" '["file",1,true]'
CUR=$(jqb .nextCursor)
check "page 1 has a cursor" neq "$CUR" null
req GET "/api/agents/$AID/files?path=$(jq -rn --arg p "$R1/sub" '$p|@uri')&limit=10&cursor=$CUR" "${ADM[@]}"
expect_status 200 "listing, page 2"
check "page 2 names" eq "$(jqb -c '[.items[] | [.name, .type]]')" '[["n3.txt","file"],["n4.txt","file"],["n5.txt","file"],["zdir","dir"]]'
check "last page: null cursor" eq "$(jqb .nextCursor)" null
req GET "/api/agents/$AID/files" "${ADM[@]}"
expect_status 200 "listing the roots"
check "the roots" eq "$(jqb -c '[.items[] | [.name, .type]]')" "[[\"$R1\",\"dir\"]]"
files "$AID" "$R1" "${ADM[@]}"
check "a root: symlinks left out" eq "$(jqb -c '[.items[].name] | index("escape.txt")')" null
files "$AID" "$TEST_TMP/outside16" "${ADM[@]}"
expect_error 403 FORBIDDEN "listing outside the roots: 403"
files "$AID" "$R1/nope" "${ADM[@]}"
expect_error 404 NOT_FOUND "listing a missing directory: 404"
files "$AID" "$R1/f.txt" "${ADM[@]}"
expect_error 404 NOT_FOUND "listing a file: 404"
files "$AID" "$R1/../x" "${ADM[@]}"
expect_error 422 VALIDATION "listing a path with ..: 422"
req GET "/api/agents/$AID/files?limit=0" "${ADM[@]}"
expect_error 422 VALIDATION "listing limit 0: 422"
req GET "/api/agents/$AID/files?cursor=!!" "${ADM[@]}"
expect_error 422 VALIDATION "listing a bad cursor: 422"
ln -s "$TEST_TMP/outside16" "$R1/outdir"
files "$AID" "$R1/outdir" "${ADM[@]}"
expect_error 403 FORBIDDEN "listing through a symlink out: 403"

# --- permissions: no grant 403, another tenant 404
UPLAIN=$(mk_user "$TID" authenticated)
PLAIN=(-H "Authorization: Bearer $(mk_key "$TID" "$UPLAIN")")
content "$AID" "$R1/f.txt" "${PLAIN[@]}"
expect_error 403 FORBIDDEN "no agent_files.read: 403"
TID2=$(mk_tenant relay2)
U2=$(mk_user "$TID2" admin)
OTHER=(-H "Authorization: Bearer $(mk_key "$TID2" "$U2")")
content "$AID" "$R1/f.txt" "${OTHER[@]}"
expect_error 404 NOT_FOUND "another tenant's agent: 404"
files "$AID" "$R1" "${PLAIN[@]}"
expect_error 403 FORBIDDEN "listing without agent_files.read: 403"
files "$AID" "$R1" "${OTHER[@]}"
expect_error 404 NOT_FOUND "listing another tenant's agent: 404"

# --- the tunnel switches the answer back to 302, and off again to the relay
req POST "/api/agents/$AID/tunnel" "${ADM[@]}" -H 'Content-Type: application/json' \
    --data '{"hostname":"agent16.example.com"}'
expect_status 200 "tunnel enabled"
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_status 302 "tunnel on: 302"
req DELETE "/api/agents/$AID/tunnel" "${ADM[@]}"
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_status 200 "tunnel off: relay again"

# --- 50 downloads at once over the one connection, bytes compared
for i in $(seq 1 5); do head -c $((200000 + i * 7919)) /dev/urandom >"$R1/c$i.bin"; done
URLS=$TEST_TMP/urls16
: >"$URLS"
for i in $(seq 1 50); do
	k=$(( (i % 5) + 1 ))
	printf 'url = "%s/api/file/content?agent=%s&path=%s"\noutput = "%s/par%d.%d"\n' \
	    "$BASE" "$AID" "$(jq -rn --arg p "$R1/c$k.bin" '$p|@uri')" "$TEST_TMP" "$i" "$k" >>"$URLS"
done
curl -s --parallel --parallel-max 50 -K "$URLS" "${ADM[@]}" >/dev/null
bad=0
for i in $(seq 1 50); do
	k=$(( (i % 5) + 1 ))
	cmp -s "$TEST_TMP/par$i.$k" "$R1/c$k.bin" || bad=$((bad + 1))
done
check "50 concurrent downloads, bytes equal" eq "$bad" 0

# --- offline, then back
stop_agent
check "agent offline once stopped" wait_for 5 online_is "$AID" false
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_error 503 UNAVAILABLE "agent offline: 503"
check "503 Retry-After" test -n "$(hdr Retry-After)"
start_agent
check "agent back online" wait_for 5 online_is "$AID" true
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_status 200 "serves again after a restart"

# --- an agent killed mid-download: the client sees a cut, never a short
# complete-looking body
head -c 40000000 /dev/zero >"$R1/huge.bin"
KURL="$BASE/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/huge.bin" '$p|@uri')"
curl -s -o "$TEST_TMP/cut.bin" --limit-rate 4M "${ADM[@]}" "$KURL" &
CPID=$!
got_some() { [ "$(stat -c %s "$TEST_TMP/cut.bin" 2>/dev/null || echo 0)" -gt 100000 ]; }
check "killed agent: the download started" wait_for 10 got_some
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
wait "$CPID"
CRC=$?
check "killed agent: curl sees a cut transfer (rc $CRC)" test "$CRC" -eq 18 -o "$CRC" -eq 56
check "killed agent: the body is short" test "$(stat -c %s "$TEST_TMP/cut.bin")" -lt 40000000

# --- protocol faults from a misbehaving agent: a clean close, no crash
FAKE16=$FILESTOR_TOP/tests/fake-relay-agent.py
HP=${BASE#http://}
fake() { timeout 20 python3 "$FAKE16" "${HP%:*}" "${HP#*:}" "Bearer $AID.$SECRET" "$1"; }
check "fault: text that is not JSON: close 1002" eq "$(fake garbage | tail -n1)" "close 1002"
check "fault: a stream id never given: close 1002" eq "$(fake neverid | tail -n1)" "close 1002"
check "fault: a frame over 1 MiB: closed" has "$(fake toolarge | tail -n1)" "close "
fake more >"$TEST_TMP/more.out" &
FPID=$!
check "fault: the fake agent is online" wait_for 15 online_is "$AID" true
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_error 503 UNAVAILABLE "fault: more bytes than announced: the stream is cut (503 before any byte)"
wait "$FPID"
check "fault: the stream is cancelled at the agent" eq "$(tail -n1 "$TEST_TMP/more.out")" cancel
# A browser that goes away cancels its stream at the agent.
fake gone >"$TEST_TMP/gone.out" &
FPID=$!
check "gone: the fake agent is online" wait_for 15 online_is "$AID" true
GURL="$BASE/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/f.txt" '$p|@uri')"
curl -s -o /dev/null --max-time 2 "${ADM[@]}" "$GURL"
GRC=$?
check "gone: the browser gave up mid-body (rc $GRC)" eq "$GRC" 28
wait "$FPID"
check "gone: the stream is cancelled at the agent" eq "$(tail -n1 "$TEST_TMP/gone.out")" cancel
check "the relay survived the faults" kill -0 "$SERVE_RELAY_PID"

# --- slow readers keep the relay's memory bounded (a window per stream)
start_agent
check "agent back for the slow readers" wait_for 5 online_is "$AID" true
SLOW=()
for i in $(seq 1 10); do
	curl -s -o /dev/null --limit-rate 100K "${ADM[@]}" "$KURL" &
	SLOW+=("$!")
done
sleep 4
HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVE_RELAY_PID/status")
kill "${SLOW[@]}" 2>/dev/null
wait "${SLOW[@]}" 2>/dev/null
check "10 slow readers of 40 MB: relay peak RSS ${HWM} KiB < 40 MiB" test "$HWM" -lt 40960
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_status 200 "serves after the slow readers went away"

# --- the relay itself dies and comes back: the agent reconnects by itself
# (its backoff, scaled down here) and serves again, bytes equal
kill -9 "$SERVE_RELAY_PID"
wait "$SERVE_RELAY_PID" 2>/dev/null
SERVE_RELAY_PID=
relay_not_connected() { [ "$(relay_state)" != connected ]; }
check "relay killed: the agent sees its connection gone" wait_for 5 relay_not_connected
content "$AID" "$R1/f.txt" "${ADM[@]}"
expect_error 503 UNAVAILABLE "relay down: 503"
check "relay down: Retry-After" test -n "$(hdr Retry-After)"
serve_start_relay
check "relay restarted as tools/serve.sh starts it" test -n "$SERVE_RELAY_PID"
relay_holds() { [ "$(relay_state)" = connected ] && online_is "$AID" true; }
check "relay restarted: the agent reconnects" wait_for 10 relay_holds
content "$AID" "$R1/big.bin" "${ADM[@]}"
expect_status 200 "relay restarted: the agent serves again"
check "relay restarted: bytes equal" cmp -s "$TEST_TMP/body" "$R1/big.bin"

# --- two hosts: two front ends on one database and data directory, each
# with its own relay; the agent connects to the second, the download goes
# through the first, whose program reaches the second relay over TCP
PPORT=$(serve_free_port)
trap 'stop_agent; stop_server2' EXIT
if start_server2 "RELAY_PEER_ADDR=127.0.0.1:$PPORT" RELAY_STALL_SECONDS=2; then
	pass "two hosts: second front end started"
	stop_agent
	jq --arg s "$BASE2" '.server = $s' "$CFG" >"$CFG.new" && chmod 600 "$CFG.new" && mv "$CFG.new" "$CFG"
	start_agent
	relay_is() { [ "$(tsql "SELECT relay FROM agent_relays WHERE agent_id = '$AID'")" = "$1" ]; }
	check "two hosts: the second relay holds the agent" wait_for 10 relay_is "127.0.0.1:$PPORT"
	content "$AID" "$R1/big.bin" "${ADM[@]}"
	expect_status 200 "two hosts: download through the other front end"
	check "two hosts: bytes equal" cmp -s "$TEST_TMP/body" "$R1/big.bin"
	content "$AID" "$R1/big.bin" "${ADM[@]}" -H 'Range: bytes=-100'
	expect_status 206 "two hosts: Range"
	files "$AID" "$R1/sub" "${ADM[@]}"
	expect_status 200 "two hosts: listing through the other front end"
	# The peer port wants the MAC of its challenge: a wrong one is 401.
	exec 7<>"/dev/tcp/127.0.0.1/$PPORT"
	read -r -t 5 hello <&7
	printf '{"op":"read","agent":"%s","tenant":"%s","path":"%s"}\n%064d\n' "$AID" "$TID" "$R1/f.txt" 0 >&7
	read -r -t 5 answer <&7
	exec 7<&-
	check "two hosts: the peer port challenges" has "$hello" "FSR1 "
	check "two hosts: a wrong MAC is 401" eq "$(printf '%s' "$answer" | jq -r .status)" 401
	# A stalled stream is closed (RELAY_STALL_SECONDS=2 on that host):
	# the one with a header and 4 of its 10 bytes is cut, the one with
	# nothing gets 503, and the agent is told to forget both.
	stop_agent
	HP2=${BASE2#http://}
	timeout 20 python3 "$FAKE16" "${HP2%:*}" "${HP2#*:}" "Bearer $AID.$SECRET" stall \
	    >"$TEST_TMP/stall.out" &
	FPID=$!
	check "stall: the fake agent is online" wait_for 15 online_is "$AID" true
	SURL="$BASE2/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/f.txt" '$p|@uri')"
	T0=$SECONDS
	curl -s -o "$TEST_TMP/stall1.bin" "${ADM[@]}" "$SURL" &
	S1=$!
	first_read() { grep -q read "$TEST_TMP/stall.out"; }
	wait_for 10 first_read
	SCODE=$(curl -s -o /dev/null -w '%{http_code}' "${ADM[@]}" "$SURL")
	wait "$S1"
	SRC=$?
	check "stall: header then silence: a cut transfer (rc $SRC)" test "$SRC" -eq 18 -o "$SRC" -eq 56
	check "stall: no header: 503" eq "$SCODE" 503
	check "stall: closed in $((SECONDS - T0)) s (limit 2 s)" test $((SECONDS - T0)) -le 12
	wait "$FPID"
	check "stall: both streams cancelled at the agent" eq "$(grep -c cancel "$TEST_TMP/stall.out")" 2
	stop_server2
	content "$AID" "$R1/f.txt" "${ADM[@]}"
	expect_error 503 UNAVAILABLE "two hosts: the holding relay is gone: 503"
else
	fail "two hosts: second front end started"
fi
