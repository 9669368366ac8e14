# The cloudflared supervisor in filestor-agent (issue 6), against the
# stand-in build/fake-cloudflared (reference cloudflared.md §7): no
# network. FILESTOR_AGENT_TIME_SCALE shrinks the health interval and the
# backoff so that 5, 10, 20 s run in 0.5, 1, 2 s.

AGENT_BIN=$FILESTOR_BUILD/filestor-agent
FAKE=$FILESTOR_BUILD/fake-cloudflared
APORT=$(serve_free_port)
AORIGIN="http://127.0.0.1:$APORT"
export XDG_CONFIG_HOME=$TEST_TMP/xdg7
CFG=$XDG_CONFIG_HOME/filestor-agent/config.json
STATE=$XDG_CONFIG_HOME/filestor-agent/tunnel-state.json
TRACE=$TEST_TMP/cf.trace
export FAKECF_TRACE=$TRACE FAKECF_T_API=50 FAKECF_T_REGISTER=100 FAKECF_T_HA_SPACING=50
export FILESTOR_AGENT_LOG=debug
unset CLOUDFLARE_TUNNEL_TOKEN
AGENT_PID=
ALOG=

# start_agent LOG [env ...]: run the agent with extra environment.
start_agent() {
	ALOG=$TEST_TMP/$1
	shift
	env "$@" "$AGENT_BIN" run --listen "127.0.0.1:$APORT" 2>>"$ALOG" &
	AGENT_PID=$!
	agent_wait
}
trap stop_agent EXIT
starts() { local n; n=$(grep -c '"ev":"start"' "$TRACE" 2>/dev/null); echo "${n:-0}"; }
starts_ge() { [ "$(starts)" -ge "$1" ]; }
# first_child_term NAME: the first cloudflared's pid (P1), its start (T1)
# and when its signal came (TS), from the trace; check NAME that the one
# signal it got was a SIGTERM.
first_child_term() {
	P1=$(head -n1 "$TRACE" | jq -r .pid)
	T1=$(head -n1 "$TRACE" | jq -r .t)
	TS=$(jq -r "select(.pid == $P1 and .ev == \"signal\") | .t" "$TRACE" | head -n1)
	check "$1" eq "$(jq -r "select(.pid == $P1 and .ev == \"signal\") | .sig" "$TRACE")" "TERM"
}
# restart_gaps FROM TO: the gaps (ms) between each exit and the next start
# in the trace, the FROM-th to the TO-th (0-based, TO excluded), on a line.
restart_gaps() {
	jq -s -r --argjson a "$1" --argjson b "$2" '[.[] | select(.ev == "start" or .ev == "exit")] | . as $e
	    | [range(1; length) | select($e[.].ev == "start" and $e[. - 1].ev == "exit") | $e[.].t - $e[. - 1].t]
	    | .[$a:$b] | map(tostring) | join(" ")' "$TRACE"
}
# set_tunnel JSON: the config's tunnel = {hostname, key} + JSON.
set_tunnel() {
	jq --argjson t "$1" '.tunnel = ({hostname: .tunnel.hostname, key: .tunnel.key} + $t)' \
	    "$CFG" >"$CFG.new" && chmod 600 "$CFG.new" && mv "$CFG.new" "$CFG"
	: >"$TRACE"
}
# run_refused JSON: the agent must refuse to start; its stderr in $REFUSAL.
run_refused() {
	set_tunnel "$1"
	REFUSAL=$(env "${@:2}" timeout 5 "$AGENT_BIN" run --listen "127.0.0.1:$APORT" 2>&1)
	REFUSED_RC=$?
}

# --- an enrolled agent with a tunnel key
TID=$(mk_tenant tunnel)
UADM=$(mk_user "$TID" admin)
ADM=(-H "Authorization: Bearer $(mk_key "$TID" "$UADM")")
R1=$TEST_TMP/t7root
mkdir -p "$R1"
printf 'tunnel bytes\n' >"$R1/f.txt"
ET=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
AID=$("$AGENT_BIN" enroll --server "$BASE" --token "$ET" --name tun --allowed-roots "$R1" 2>/dev/null)
check "t07: agent enrolled" eq "$(printf '%s' "$AID" | grep -cE '^[0-9a-f-]{36}$')" 1
SECRET=$(jq -r .agentSecret "$CFG")
req POST "/api/agents/$AID/tunnel" "${ADM[@]}" -H 'Content-Type: application/json' \
    --data '{"hostname":"agent.example.com"}'
expect_status 200 "tunnel enabled with a named hostname"
KEY=$(jqb .signingKey)
printf '%s\n' "$KEY" | "$AGENT_BIN" configure-tunnel --hostname "$AORIGIN" --key - 2>/dev/null
check "configure-tunnel" eq "$?" 0

# --- the heartbeat route itself
hb() { req POST /api/agents/heartbeat -H 'Content-Type: application/json' "$@"; }
# hb_refused STATUS CODE NAME [curl args]: a heartbeat the API refuses.
hb_refused() { local s=$1 c=$2 n=$3; shift 3; hb "$@"; expect_error "$s" "$c" "$n"; }
hb_refused 401 UNAUTHORIZED "heartbeat without credentials: 401" --data '{"version":"x"}'
hb_refused 401 UNAUTHORIZED "heartbeat with a wrong secret: 401" -H "Authorization: Bearer $AID.fsa_wrong" --data '{"version":"x"}'
hb_refused 401 UNAUTHORIZED "heartbeat with another id: 401" -H "Authorization: Bearer 00000000-0000-4000-8000-000000000000.$SECRET" --data '{"version":"x"}'
hb_refused 422 VALIDATION "heartbeat: a foreign hostname refused" -H "Authorization: Bearer $AID.$SECRET" --data '{"version":"x","tunnelHostname":"evil.example.com"}'
hb_refused 422 VALIDATION "heartbeat: the quick API host refused" -H "Authorization: Bearer $AID.$SECRET" --data '{"version":"x","tunnelHostname":"api.trycloudflare.com"}'
hb_refused 422 VALIDATION "heartbeat: two labels under trycloudflare.com refused" -H "Authorization: Bearer $AID.$SECRET" --data '{"version":"x","tunnelHostname":"a.b.trycloudflare.com"}'
hb -H "Authorization: Bearer $AID.$SECRET" --data '{"version":"x","tunnelHostname":"agent.example.com","health":{"ok":true}}'
expect_status 200 "heartbeat: the configured hostname accepted"
check "heartbeat: lastSeenAt set" neq "$(tsql "SELECT last_seen_at FROM agents WHERE id = '$AID'")" ""
check "heartbeat: configured hostname kept" eq "$(tsql "SELECT tunnel_hostname FROM agents WHERE id = '$AID'")" "agent.example.com"
req GET /api/agents/heartbeat "${ADM[@]}"
expect_status 405 "heartbeat: GET is 405"

# --- invalid configuration stops the agent with a message naming the key
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"grace_period_secs\":181}}"
check "grace_period_secs 181 refused" neq "$REFUSED_RC" 0
check "grace_period_secs: message names the key" has "$REFUSAL" "tunnel.cloudflare.grace_period_secs must be an integer from 0 to 180 (got 181)"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"mode\":\"fast\"}}"
check "mode fast refused" neq "$REFUSED_RC" 0
check "mode: message names the key and the choices" has "$REFUSAL" 'tunnel.cloudflare.mode must be one of "quick", "named" (got "fast")'
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"mode\":\"named\",\"hostname\":\"agent.example.com\"}}"
check "named without a token refused" has "$REFUSAL" "tunnel.cloudflare.token is required in named mode"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"mode\":\"named\",\"token\":\"\${CLOUDFLARE_TUNNEL_TOKEN}\"}}"
check "\${CLOUDFLARE_TUNNEL_TOKEN} unset refused" has "$REFUSAL" "CLOUDFLARE_TUNNEL_TOKEN"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"protocol\":\"udp\"}}"
check "protocol udp refused" has "$REFUSAL" "tunnel.cloudflare.protocol must be one of"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"edge_ip_version\":5}}"
check "edge_ip_version 5 refused" has "$REFUSAL" "tunnel.cloudflare.edge_ip_version"
run_refused "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":0,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\"}}"
check "interval 0 refused" has "$REFUSAL" "tunnel.health_check_interval_secs must be an integer from 1"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"grace_period\":10}}"
check "unknown key refused (a typo is not a default)" has "$REFUSAL" "tunnel.cloudflare.grace_period: unknown key"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$TEST_TMP/nope\"}}"
check "missing cloudflared refused" has "$REFUSAL" "tunnel.cloudflare.cloudflared_path"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"log_level\":\"warn\"}}"
check "quick + log_level warn without metrics refused" has "$REFUSAL" "hides the quick tunnel URL"
check "no cloudflared started for a bad config" eq "$(starts)" 0

# --- quick mode: URL parsed, reported, used by redirects; then SIGTERM
QHOST=brave-tiny-quick-words.trycloudflare.com
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"metrics_port\":$MPORT,\"grace_period_secs\":3,\"health_url_override\":\"$AORIGIN/healthz\"}}"
check "quick: agent starts" start_agent quick.log FILESTOR_AGENT_TIME_SCALE=0.1 FAKECF_QUICK_HOST="$QHOST"
dbhost() { [ "$(tsql "SELECT tunnel_hostname FROM agents WHERE id = '$AID'")" = "$1" ]; }
check "quick: the URL reaches the backend" wait_for 5 dbhost "$QHOST"
check "quick: URL logged" has "$(cat "$ALOG")" "quick tunnel URL: https://$QHOST"
req GET "/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/f.txt" '$p|@uri')" "${ADM[@]}"
expect_status 302 "quick: file-content redirects"
check "quick: redirect uses the reported URL" has "$(hdr Location)" "https://$QHOST/content?token="
ARGV=$(head -n1 "$TRACE" | jq -c '.argv[1:]')
check "quick: argv (reference §6)" eq "$ARGV" "[\"tunnel\",\"--no-autoupdate\",\"--loglevel\",\"info\",\"--protocol\",\"auto\",\"--edge-ip-version\",\"auto\",\"--retries\",\"5\",\"--grace-period\",\"3s\",\"--metrics\",\"127.0.0.1:$MPORT\",\"--url\",\"http://127.0.0.1:$APORT\"]"
check "quick: stdin is /dev/null" eq "$(head -n1 "$TRACE" | jq -r .stdinDevNull)" "true"
healthy() { [ "$(jq -r .lastHealth.ok "$STATE" 2>/dev/null)" = true ]; }
check "quick: health turns ok (ready + public probe after warm-up)" wait_for 6 healthy
"$AGENT_BIN" status --listen "127.0.0.1:$APORT" >"$TEST_TMP/st.out" 2>&1
ST=$(cat "$TEST_TMP/st.out")
check "status: mode" has "$ST" "tunnel mode:       quick"
check "status: url" has "$ST" "tunnel url:        https://$QHOST"
check "status: child pid" has "$ST" "cloudflared pid:   $(head -n1 "$TRACE" | jq -r .pid) (running)"
check "status: ready connections" has "$ST" "ready connections: 1"
check "status: last health" has "$ST" "last health:       ok: 1 ready connection"
check "status: restarts" has "$ST" "restarts:          0"
check "status: next backoff" has "$ST" "next backoff:      5 s"
check "stand-in output drained into the log with a prefix" has "$(cat "$ALOG")" "cloudflared[$(head -n1 "$TRACE" | jq -r .pid)] stderr: "
T0=$(date +%s%N)
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
RC=$?
EL=$((($(date +%s%N) - T0) / 1000000))
AGENT_PID=
check "SIGTERM: agent exits 0" eq "$RC" 0
check "SIGTERM: within the grace period (${EL} ms)" eq "$((EL < 3000))" 1
check "SIGTERM: exactly one signal to cloudflared" eq "$(grep -c '"ev":"signal"' "$TRACE")" 1
check "SIGTERM: cloudflared exited 0, gracefully" eq "$(grep '"ev":"exit"' "$TRACE" | jq -r .code)" 0
check "SIGTERM: no restart while stopping" eq "$(starts)" 1

# --- named mode: argv by level, token only as TUNNEL_TOKEN, never logged
TOKEN=$(printf '{"a":"0123456789abcdef0123456789abcdef","t":"8a0d1c52-5e2b-4d7c-9d1e-3b7f2a1c9e44","s":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw"}' | base64 -w0 | tr -d '=')
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"cloudflare\":{\"mode\":\"named\",\"token\":\"\${CLOUDFLARE_TUNNEL_TOKEN}\",\"hostname\":\"agent.example.com\",\"cloudflared_path\":\"$FAKE\",\"protocol\":\"http2\",\"edge_ip_version\":\"4\",\"retries\":3,\"metrics_port\":$MPORT,\"grace_period_secs\":2,\"health_url_override\":\"$AORIGIN/healthz\"}}"
tsql "UPDATE agents SET tunnel_hostname = 'agent.example.com', last_seen_at = 1 WHERE id = '$AID'"
check "named: agent starts" start_agent named.log FILESTOR_AGENT_TIME_SCALE=0.1 CLOUDFLARE_TUNNEL_TOKEN="$TOKEN"
# The state file still holds the quick-mode agent's good health until
# this agent writes its own: wait for this agent's cloudflared too.
check "named: cloudflared started" wait_for 5 starts_ge 1
check "named: ready" wait_for 5 healthy
ARGV=$(head -n1 "$TRACE" | jq -c '.argv[1:]')
check "named: tunnel flags before run, protocol after" eq "$ARGV" "[\"tunnel\",\"--no-autoupdate\",\"--loglevel\",\"info\",\"--edge-ip-version\",\"4\",\"--retries\",\"3\",\"--grace-period\",\"2s\",\"--metrics\",\"127.0.0.1:$MPORT\",\"run\",\"--protocol\",\"http2\",\"--url\",\"http://127.0.0.1:$APORT\"]"
check "named: TUNNEL_TOKEN in the child's env" eq "$(head -n1 "$TRACE" | jq -r .env.TUNNEL_TOKEN)" "set"
check "named: CLOUDFLARE_TUNNEL_TOKEN not in the child's env" eq "$(head -n1 "$TRACE" | jq -r .env.CLOUDFLARE_TUNNEL_TOKEN)" "unset"
check "named: the token is not on argv" eq "$(grep -cF -- "$TOKEN" "$TRACE")" 0
check "named: cloudflared saw the masked token" has "$(cat "$ALOG")" "Environmental variables map[TUNNEL_TOKEN:*****]"
ready4() { "$AGENT_BIN" status --listen "127.0.0.1:$APORT" 2>/dev/null | grep -q "ready connections: 4"; }
check "named: 4 connections registered" wait_for 4 ready4
"$AGENT_BIN" status --listen "127.0.0.1:$APORT" >"$TEST_TMP/st2.out" 2>&1
check "named: heartbeat accepted (lastSeenAt moved)" neq "$(tsql "SELECT last_seen_at FROM agents WHERE id = '$AID'")" 1
check "named: no heartbeat refused" eq "$(grep -c 'heartbeat refused' "$ALOG")" 0
check "named: status mode and URL" has "$(cat "$TEST_TMP/st2.out")" "tunnel url:        https://agent.example.com"
stop_agent
check "named: the token is in no log, trace, state or status" eq \
    "$(cat "$TEST_TMP"/*.log "$TRACE" "$STATE" "$TEST_TMP/st2.out" | grep -cF -- "$TOKEN")" 0

# --- a token the edge refuses: "Unauthorized" forever is a config error
check "unauthorized: agent starts" start_agent unauth.log FILESTOR_AGENT_TIME_SCALE=0.1 CLOUDFLARE_TUNNEL_TOKEN="$TOKEN" FAKECF_CONNECT=unauthorized FAKECF_TIME_SCALE=0.05
unauth_seen() { jq -r .lastHealth.reason "$STATE" | grep -q "Unauthorized"; }
check "unauthorized: reported as a configuration error" wait_for 4 unauth_seen
stop_agent
check "unauthorized: the token is still in no log" eq "$(grep -cF -- "$TOKEN" "$ALOG")" 0

# --- a crash: restarts after 5, 10, 20 s (scaled by 0.1)
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\"}}"
check "crash: agent starts" start_agent crash.log FILESTOR_AGENT_TIME_SCALE=0.1 FAKECF_CRASH_AFTER_MS=100 FAKECF_CRASH_CODE=2
check "crash: four starts" wait_for 8 starts_ge 4
stop_agent
GAPS=$(restart_gaps 0 3)
read -r G1 G2 G3 <<<"$GAPS"
check "crash: 1st restart after 0.5 s (${G1:-none} ms)" eq "$(( ${G1:-0} >= 480 && ${G1:-0} < 900 ))" 1
check "crash: 2nd restart after 1 s (${G2:-none} ms)" eq "$(( ${G2:-0} >= 980 && ${G2:-0} < 1400 ))" 1
check "crash: 3rd restart after 2 s (${G3:-none} ms)" eq "$(( ${G3:-0} >= 1980 && ${G3:-0} < 2400 ))" 1
check "crash: exit status logged" has "$(cat "$ALOG")" "cloudflared exited with status 2"
check "crash: state counts restarts" eq "$(jq -r '.restarts >= 3' "$STATE")" "true"
check "crash: next backoff grows" eq "$(jq -r '.nextBackoffSecs >= 40' "$STATE")" "true"

# --- the backoff resets after a while of good health (120 s, scaled 0.01)
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"metrics_port\":$MPORT,\"health_url_override\":\"$AORIGIN/healthz\"}}"
printf 'FAKECF_CRASH_AFTER_MS=150\n' >"$TEST_TMP/fk.conf"
check "reset: agent starts" start_agent reset.log FILESTOR_AGENT_TIME_SCALE=0.01 FAKECF_CONF="$TEST_TMP/fk.conf"
check "reset: three crashes" wait_for 5 starts_ge 3
: >"$TEST_TMP/fk.conf"
backoff_is() { [ "$(jq -r .nextBackoffSecs "$STATE" 2>/dev/null)" = "$1" ]; }
check "reset: backoff grew while crashing" wait_for 2 backoff_is 40
check "reset: back to 5 s after staying healthy" wait_for 6 backoff_is 5
check "reset: the restart count stays" eq "$(jq -r '.restarts >= 3' "$STATE")" "true"
stop_agent

# --- /ready 503: restart after max_failures, not before
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"max_failures\":3,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"metrics_port\":$MPORT,\"grace_period_secs\":1}}"
check "503: agent starts" start_agent ready.log FILESTOR_AGENT_TIME_SCALE=0.2 FAKECF_CONNECT=dialfail
check "503: cloudflared restarted" wait_for 8 starts_ge 2
stop_agent
first_child_term "503: one SIGTERM to the unready child"
# 2 s of start-up (10 s scaled) where failures do not count, then 3 checks.
check "503: not before start-up + 3 failed checks ($((TS - T1)) ms)" eq "$(( TS - T1 >= 2300 ))" 1
check "503: reason logged" has "$(cat "$ALOG")" "metrics /ready: HTTP 503, 0 ready connections"
check "503: restart logged" has "$(cat "$ALOG")" "restarting cloudflared after 3 failed health checks"

# --- quick API rate-limited: a long backoff, no spinning
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\"}}"
check "429: agent starts" start_agent ratelimit.log FILESTOR_AGENT_TIME_SCALE=0.02 FAKECF_QUICK_API=429
sleep 2
stop_agent
check "429: one attempt in 2 s (normal backoff would have made 4)" eq "$(starts)" 1
check "429: rate limit recognised" has "$(cat "$ALOG")" "rate-limited (429, error 1015)"
check "429: long backoff" has "$(cat "$ALOG")" "restarting cloudflared in 120 s"

# --- "Incorrect Usage" exits 0 but is a configuration error
cat >"$TEST_TMP/misplaced-cloudflared" <<EOF
#!/bin/sh
exec "$FAKE" tunnel run --metrics 127.0.0.1:1 --url http://127.0.0.1:1
EOF
chmod 755 "$TEST_TMP/misplaced-cloudflared"
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$TEST_TMP/misplaced-cloudflared\"}}"
check "usage: agent starts" start_agent usage.log FILESTOR_AGENT_TIME_SCALE=0.1
check "usage: failure recorded" wait_for 3 grep -q "Incorrect Usage" "$STATE"
stop_agent
check "usage: cloudflared exited 0" eq "$(grep '"ev":"exit"' "$TRACE" | head -n1 | jq -r .code)" 0
check "usage: treated as a configuration error" has "$(cat "$ALOG")" "configuration error: cloudflared refused its command line and exited 0: Incorrect Usage: flag provided but not defined: -metrics"
check "usage: status shows the failure" eq "$(jq -r .lastHealth.ok "$STATE")" "false"

# --- a child that ignores SIGTERM is killed after grace + margin
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"grace_period_secs\":0}}"
check "escalation: agent starts" start_agent kill.log FILESTOR_AGENT_TIME_SCALE=0.1 FAKECF_IGNORE_TERM=1
check "escalation: cloudflared up" wait_for 3 grep -q '"ev":"ready"' "$TRACE"
T0=$(date +%s%N)
stop_agent
EL=$((($(date +%s%N) - T0) / 1000000))
check "escalation: SIGKILL after grace 0 + 5 s (${EL} ms)" eq "$((EL >= 4900 && EL < 7000))" 1
check "escalation: logged" has "$(cat "$ALOG")" "SIGKILL"
check "escalation: the child is gone" neq "$(kill -0 "$(head -n1 "$TRACE" | jq -r .pid)" 2>/dev/null; echo $?)" 0

# --- an agent killed with SIGKILL leaves no orphan cloudflared
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"grace_period_secs\":1}}"
check "orphan: agent starts" start_agent orphan.log FILESTOR_AGENT_TIME_SCALE=0.1
check "orphan: cloudflared up" wait_for 3 grep -q '"ev":"ready"' "$TRACE"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
# PR_SET_PDEATHSIG fires each time the child passes from one dying thread
# of the agent to the next, so it gets one SIGTERM or several. After one
# it dies of SIGPIPE at its next log line; a second kills it at once, as
# either would the real one. The stand-in traces each signal as it
# arrives (before, it traced from its main loop, which a second signal
# could beat: the check failed about one run in ten).
CFPID=$(head -n1 "$TRACE" | jq -r .pid)
gone() { ! kill -0 "$CFPID" 2>/dev/null; }
check "orphan: cloudflared is gone" wait_for 3 gone
check "orphan: it got a SIGTERM, and nothing else" eq "$(jq -r 'select(.ev == "signal") | .sig' "$TRACE" | sort -u)" "TERM"
gone || kill -KILL "$CFPID" 2>/dev/null

# --- a key rotation keeps the supervisor settings (issue 22): the full
# tunnel object, POST .../tunnel/rotate as docs/agents.md shows it,
# configure-tunnel with the new key, then the agent runs cloudflared
# again and serves with the new key.
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"local_addr\":\"127.0.0.1:$APORT\",\"health_check_interval_secs\":1,\"max_failures\":3,\"cloudflare\":{\"mode\":\"named\",\"token\":\"\${CLOUDFLARE_TUNNEL_TOKEN}\",\"hostname\":\"agent.example.com\",\"cloudflared_path\":\"$FAKE\",\"protocol\":\"http2\",\"edge_ip_version\":\"4\",\"retries\":3,\"grace_period_secs\":2,\"metrics_port\":$MPORT,\"log_level\":\"info\",\"health_url_override\":\"$AORIGIN/healthz\"}}"
BEFORE=$(jq -S '.tunnel | del(.hostname, .key)' "$CFG")
OLDKEY=$(jq -r .tunnel.key "$CFG")
req POST "/api/agents/$AID/tunnel/rotate" "${ADM[@]}" --data ''
expect_status 200 "rotate: POST with an empty body (Content-Length: 0)"
NEWKEY=$(jqb .signingKey)
printf '%s\n' "$NEWKEY" | "$AGENT_BIN" configure-tunnel --hostname "$AORIGIN" --key - 2>/dev/null
check "rotate: configure-tunnel" eq "$?" 0
check "rotate: the new key is saved" eq "$(jq -r .tunnel.key "$CFG")" "$NEWKEY"
check "rotate: the key changed" neq "$NEWKEY" "$OLDKEY"
check "rotate: the hostname is saved" eq "$(jq -r .tunnel.hostname "$CFG")" "$AORIGIN"
check "rotate: every supervisor setting kept" eq "$(jq -S '.tunnel | del(.hostname, .key)' "$CFG")" "$BEFORE"
check "rotate: the config stays 0600" eq "$(stat -c %a "$CFG")" 600
: >"$TRACE"
tsql "UPDATE agents SET tunnel_hostname = 'agent.example.com' WHERE id = '$AID'"
check "rotate: agent starts" start_agent rotate.log FILESTOR_AGENT_TIME_SCALE=0.1 CLOUDFLARE_TUNNEL_TOKEN="$TOKEN"
check "rotate: cloudflared runs again" wait_for 5 healthy
"$AGENT_BIN" status --listen "127.0.0.1:$APORT" >"$TEST_TMP/st3.out" 2>&1
ST=$(cat "$TEST_TMP/st3.out")
check "rotate: status shows the named tunnel" has "$ST" "tunnel mode:       named"
check "rotate: status shows its URL" has "$ST" "tunnel url:        https://agent.example.com"
check "rotate: status shows cloudflared running" has "$ST" "(running)"
req GET "/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/f.txt" '$p|@uri')" "${ADM[@]}"
expect_status 302 "rotate: file-content redirects"
TOK=$(hdr Location | sed 's/.*[?&]token=//')
req GET "$AORIGIN/content?token=$TOK"
expect_status 200 "rotate: the agent accepts a URL signed with the new key"
check "rotate: and serves the file" eq "$(body)" "tunnel bytes"
stop_agent

# --- issue 23: the child is a process tree. A wrapper script that does
# not exec, a `sleep 900 &` it leaves in its group and a `setsid sleep
# 900 &` that leaves the group: a health restart and a stop complete,
# within grace + 5 s, and no process of the tree survives either.
# proc_gone PID: no such process (a zombie counts as gone).
proc_gone() {
	local st
	[ -e "/proc/$1" ] || return 0
	read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 0
	[ "$st" = Z ]
}
# stop_within SECONDS: SIGTERM the agent; 0 when it exits by itself in
# time (its status in STOP_RC, the time in STOP_MS); else SIGKILL, 1.
stop_within() {
	local t0=$(date +%s%N)
	kill -TERM "$AGENT_PID" 2>/dev/null
	if wait_for "$1" proc_gone "$AGENT_PID"; then
		STOP_MS=$((($(date +%s%N) - t0) / 1000000))
		wait "$AGENT_PID"
		STOP_RC=$?
		AGENT_PID=
		return 0
	fi
	kill -KILL "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	return 1
}
# all_gone FILE: every pid listed in FILE (one a line) is gone.
all_gone() {
	local p
	while read -r p; do proc_gone "$p" || return 1; done <"$1"
}
# tree_pids N: the pids of the Nth tree (wrapper, its sleeps, the fake).
tree_pids() {
	sed -n "$((3 * $1 - 2)),$((3 * $1))p" "$TEST_TMP/wrap.pids"
	jq -r 'select(.ev == "start") | .pid' "$TRACE" | sed -n "${1}p"
}
reap_leftovers() {
	# Whatever a failed run left: nothing may outlive the test.
	xargs -r kill -KILL <"$TEST_TMP/wrap.pids" 2>/dev/null
	jq -r 'select(.ev == "start") | .pid' "$TRACE" | xargs -r kill -KILL 2>/dev/null
}
: >"$TEST_TMP/wrap.pids"
cat >"$TEST_TMP/wrap-cloudflared" <<EOF
#!/bin/sh
echo \$\$ >>"$TEST_TMP/wrap.pids"
sleep 900 &
echo \$! >>"$TEST_TMP/wrap.pids"
setsid sleep 900 &
echo \$! >>"$TEST_TMP/wrap.pids"
"$FAKE" "\$@"
exit \$?
EOF
chmod 755 "$TEST_TMP/wrap-cloudflared"
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"max_failures\":2,\"cloudflare\":{\"cloudflared_path\":\"$TEST_TMP/wrap-cloudflared\",\"metrics_port\":$MPORT,\"grace_period_secs\":2}}"
check "tree: agent starts" start_agent tree.log FILESTOR_AGENT_TIME_SCALE=0.2 FAKECF_CONNECT=dialfail
check "tree: a health restart happens" wait_for 12 starts_ge 2
tree_pids 1 >"$TEST_TMP/tree1.pids"
check "tree: the first tree is gone entirely ($(tr '\n' ' ' <"$TEST_TMP/tree1.pids"))" wait_for 2 all_gone "$TEST_TMP/tree1.pids"
check "tree: one SIGTERM reached the real cloudflared" eq "$(jq -r "select(.pid == $(sed -n 4p "$TEST_TMP/tree1.pids") and .ev == \"signal\") | .sig" "$TRACE")" "TERM"
check "tree: restart logged" has "$(cat "$ALOG")" "restarting cloudflared after 2 failed health checks"
running() { [ "$(jq -r .state "$STATE" 2>/dev/null)" = running ]; }
check "tree: running again" wait_for 3 running
check "tree: the second tree is up" wait_for 3 grep -q '"ev":"start"' "$TRACE"
wait_for 3 eval '[ "$(wc -l <"$TEST_TMP/wrap.pids")" -ge 6 ]'
check "tree: stop completes within grace + 5 s" stop_within 7
check "tree: stop exit 0 (${STOP_MS:-none} ms)" eq "${STOP_RC:-none}" 0
tree_pids 2 >"$TEST_TMP/tree2.pids"
check "tree: nothing of the second tree survives the stop" all_gone "$TEST_TMP/tree2.pids"
reap_leftovers

# The same wrapper around a cloudflared that ignores SIGTERM: the group
# gets SIGKILL at grace 0 + 5 s, and the agent exits.
: >"$TEST_TMP/wrap.pids"
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$TEST_TMP/wrap-cloudflared\",\"grace_period_secs\":0}}"
check "tree, ignore-term: agent starts" start_agent tree-kill.log FILESTOR_AGENT_TIME_SCALE=0.1 FAKECF_IGNORE_TERM=1
check "tree, ignore-term: cloudflared up" wait_for 3 grep -q '"ev":"ready"' "$TRACE"
check "tree, ignore-term: the agent exits by itself" stop_within 8
check "tree, ignore-term: after SIGKILL at 5 s (${STOP_MS:-none} ms)" eq "$(( ${STOP_MS:-0} >= 4900 && ${STOP_MS:-0} < 7500 ))" 1
tree_pids 1 >"$TEST_TMP/tree1.pids"
check "tree, ignore-term: nothing of the tree survives" all_gone "$TEST_TMP/tree1.pids"
reap_leftovers

# --- issue 23: cloudflared's output is untrusted. Escape sequences never
# reach the log or status raw.
cat >"$TEST_TMP/esc-cloudflared" <<'EOF'
#!/bin/sh
printf '\033[2J\033]0;PWNED\007 ERR failed: boom\n' >&2
exit 3
EOF
chmod 755 "$TEST_TMP/esc-cloudflared"
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$TEST_TMP/esc-cloudflared\"}}"
check "escapes: agent starts" start_agent esc.log FILESTOR_AGENT_TIME_SCALE=0.1
check "escapes: the exit is recorded" wait_for 3 grep -q 'exited with status 3' "$STATE"
"$AGENT_BIN" status --listen "127.0.0.1:$APORT" >"$TEST_TMP/st-esc.out" 2>&1
stop_agent
check "escapes: no ESC or BEL in the log" eq "$(tr -dc '\033\007' <"$ALOG" | wc -c)" 0
check "escapes: no ESC or BEL in the state file" eq "$(tr -dc '\033\007' <"$STATE" | wc -c)" 0
check "escapes: no ESC or BEL in status" eq "$(tr -dc '\033\007' <"$TEST_TMP/st-esc.out" | wc -c)" 0
check "escapes: shown as \\x1b in status" has "$(cat "$TEST_TMP/st-esc.out")" 'status 3: \x1b[2J\x1b]0;PWNED\x07 ERR failed: boom'

# A child that prints two quick URLs in turn for 2 to 3 s: the URL is
# taken at most once per 10 s (1 s scaled), heartbeats go at most every
# 5 s (0.5 s scaled), and the log stays small.
cat >"$TEST_TMP/flip-cloudflared" <<EOF
#!/bin/sh
"$FAKE" "\$@" &
i=0
while [ \$i -lt 200 ]; do
	printf '2026-01-01T00:00:00Z INF |  https://flip-one.trycloudflare.com  |\n2026-01-01T00:00:00Z INF |  https://flip-two.trycloudflare.com  |\n' >&2
	sleep 0.01
	i=\$((i + 1))
done
: >"$TEST_TMP/flip.done"
wait
EOF
chmod 755 "$TEST_TMP/flip-cloudflared"
rm -f "$TEST_TMP/flip.done"
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$TEST_TMP/flip-cloudflared\",\"grace_period_secs\":1}}"
T0=$(date +%s%N)
check "flapping URL: agent starts" start_agent flip.log FILESTOR_AGENT_TIME_SCALE=0.1
check "flapping URL: the child's loop ends" wait_for 20 test -e "$TEST_TMP/flip.done"
FLIP_S=$((($(date +%s%N) - T0) / 1000000000 + 1))
sleep 0.3	# the reader drains the pipe behind the loop
check "flapping URL: the agent stops" stop_within 6
reap_leftovers
URLS=$(grep -c 'quick tunnel URL: ' "$ALOG")
HBS=$(grep -c 'heartbeat sent' "$ALOG")
check "flapping URL: taken at most once a (scaled) 1 s: $URLS in ${FLIP_S} s" eq "$((URLS >= 1 && URLS <= FLIP_S + 2))" 1
check "flapping URL: heartbeats at most every (scaled) 0.5 s: $HBS in ${FLIP_S} s" eq "$((HBS >= 1 && HBS <= 2 * FLIP_S + 2))" 1
check "flapping URL: the log stays small ($(wc -l <"$ALOG") lines)" eq "$(($(wc -l <"$ALOG") < 300))" 1

# --- issue 23: a quick "URL" whose label is no DNS label is not taken
# (the backend would refuse it with 422, and we would retry forever)
LONG=$(printf 'a%.0s' $(seq 1 64))
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\"}}"
check "bad label: agent starts" start_agent badlabel.log FILESTOR_AGENT_TIME_SCALE=0.1 FAKECF_QUICK_HOST="$LONG.trycloudflare.com"
ready1() { [ "$(jq -r .readyConnections "$STATE" 2>/dev/null)" = 1 ]; }
check "bad label: the tunnel registers" wait_for 5 ready1
stop_agent
check "bad label: the box row was read" has "$(cat "$ALOG")" "https://$LONG.trycloudflare.com"
check "bad label: a 64-byte label is not taken" eq "$(grep -c 'quick tunnel URL' "$ALOG")" 0
check "bad label: no heartbeat refused" eq "$(grep -c 'heartbeat refused' "$ALOG")" 0

# --- issue 14 item 13: a public name behind Cloudflare Access. The probe
# sends the service token (CF-Access-Client-Id/-Secret); the stand-in's
# /access/healthz answers Access's 302 without it.
ASEC=$(openssl rand -hex 32)
AID_SVC="svc-$(openssl rand -hex 8).access"
access_tunnel() { # EXTRA_CLOUDFLARE_JSON
	set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"max_failures\":2,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"metrics_port\":$MPORT,\"grace_period_secs\":1,\"health_url_override\":\"http://127.0.0.1:$MPORT/access/healthz\"$1}}"
}
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"access_client_id\":\"a\\r\\nX-Evil: 1\",\"access_client_secret\":\"s\"}}"
check "access: CR/LF in the id refused" has "$REFUSAL" "tunnel.cloudflare.access_client_id must be 1 to 256 printable ASCII characters"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"access_client_id\":\"a\",\"access_client_secret\":\"s\\n\"}}"
check "access: LF in the secret refused" has "$REFUSAL" "tunnel.cloudflare.access_client_secret must be"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"access_client_id\":\"a\"}}"
check "access: id without secret refused" has "$REFUSAL" "set both or neither"
run_refused "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"access_client_id\":\"a\",\"access_client_secret\":\"\${CF_ACCESS_CLIENT_SECRET}\"}}"
check "access: \${CF_ACCESS_CLIENT_SECRET} unset refused" has "$REFUSAL" "CF_ACCESS_CLIENT_SECRET"
check "access: the refusal does not echo the secret form's value" eq "$(printf '%s' "$REFUSAL" | grep -c 'X-Evil')" 0

MPORT=$(serve_free_port)
access_tunnel ",\"access_client_id\":\"$AID_SVC\",\"access_client_secret\":\"\${CF_ACCESS_CLIENT_SECRET}\""
check "access: agent starts" start_agent access.log FILESTOR_AGENT_TIME_SCALE=0.1 \
    CF_ACCESS_CLIENT_SECRET="$ASEC" FAKECF_ACCESS_ID="$AID_SVC" FAKECF_ACCESS_SECRET="$ASEC"
check "access: the public probe passes Access" wait_for 6 grep -q '"ev":"access-ok"' "$TRACE"
sleep 0.5	# five more probes at 0.1 s
"$AGENT_BIN" status --listen "127.0.0.1:$APORT" >"$TEST_TMP/st-acc.out" 2>&1
stop_agent
check "access: never refused by Access" eq "$(grep -c '"ev":"access-denied"' "$TRACE")" 0
check "access: no restart" eq "$(starts)" 1
check "access: the secret is in no log, state or status" eq \
    "$(cat "$ALOG" "$STATE" "$TEST_TMP/st-acc.out" | grep -cF -- "$ASEC")" 0
check "access: nor the client id" eq "$(cat "$ALOG" "$STATE" "$TEST_TMP/st-acc.out" | grep -cF -- "$AID_SVC")" 0

# Without the token the same hostname is restarted after max_failures.
MPORT=$(serve_free_port)
access_tunnel ""
check "access, no token: agent starts" start_agent access2.log FILESTOR_AGENT_TIME_SCALE=0.1 \
    FAKECF_ACCESS_ID="$AID_SVC" FAKECF_ACCESS_SECRET="$ASEC"
check "access, no token: restarted in a loop" wait_for 10 starts_ge 2
stop_agent
check "access, no token: Access answered 302" has "$(cat "$ALOG")" "public URL: HTTP 302"

# --- issue 14 item 14: the public probe failing is a health failure:
# restart after max_failures, once the warm-up (20 s, 2 s scaled) is over.
MPORT=$(serve_free_port)
set_tunnel "{\"backend\":\"cloudflare\",\"health_check_interval_secs\":1,\"max_failures\":3,\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"metrics_port\":$MPORT,\"grace_period_secs\":1,\"health_url_override\":\"$AORIGIN/no-such-route\"}}"
check "public 404: agent starts" start_agent public.log FILESTOR_AGENT_TIME_SCALE=0.1
check "public 404: cloudflared restarted" wait_for 10 starts_ge 2
stop_agent
first_child_term "public 404: one SIGTERM to the first child"
# Ready at once, so: 2 s of warm-up without the public probe, then 3 checks.
check "public 404: not before the warm-up + 3 failed probes ($((${TS:-0} - T1)) ms)" eq "$(( ${TS:-0} - T1 >= 2200 ))" 1
check "public 404: the failures counted" has "$(cat "$ALOG")" "health check failed (3 of 3): public URL: HTTP 404"
check "public 404: not one failure too early" eq "$(grep -c 'health check failed (4 of 3)' "$ALOG")" 0
check "public 404: restart logged" has "$(cat "$ALOG")" "restarting cloudflared after 3 failed health checks"

# --- issue 14 item 14: the backoff stops doubling at 300 s. Scaled 0.01:
# 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, then 3 s and 3 s again (3.2 and 6.4
# without the cap).
set_tunnel "{\"backend\":\"cloudflare\",\"cloudflare\":{\"cloudflared_path\":\"$FAKE\",\"grace_period_secs\":1}}"
check "cap: agent starts" start_agent cap.log FILESTOR_AGENT_TIME_SCALE=0.01 FAKECF_CRASH_AFTER_MS=30 FAKECF_CRASH_CODE=1
check "cap: nine starts" wait_for 20 starts_ge 9
check "cap: next backoff stays 300 s" eq "$(jq -r .nextBackoffSecs "$STATE")" 300
stop_agent
GAPS=$(restart_gaps 5 8)
read -r G6 G7 G8 <<<"$GAPS"
# Loose bounds (a loaded machine adds start-up time to every gap): the
# cap shows as two equal gaps of about 3 s, where doubling would make the
# 8th twice the 7th (6.4 s); the state and the log say 300 s exactly.
check "cap: 6th restart after 1.6 s (${G6:-none} ms)" eq "$(( ${G6:-0} >= 1580 && ${G6:-0} < 2400 ))" 1
check "cap: 7th restart after about 3 s (${G7:-none} ms)" eq "$(( ${G7:-0} >= 2980 && ${G7:-0} < 4000 ))" 1
check "cap: 8th as long as the 7th, not twice (${G8:-none} ms)" eq \
    "$(( ${G8:-0} >= 2980 && ${G8:-0} < 4500 && ${G8:-0} - ${G7:-0} < 800 ))" 1
check "cap: logged as 300 s" has "$(cat "$ALOG")" "restarting cloudflared in 300 s"
check "cap: never more" eq "$(grep -cE 'restarting cloudflared in (3[2-9][0-9]|[4-9][0-9][0-9]|[0-9]{4,}) s' "$ALOG")" 0
