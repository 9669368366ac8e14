# Agent benchmarks (issue 5): ratios against baselines measured in the
# same run on the same machine.
#   - 4 KiB file rps through filestor-agent (a valid token) vs lighttpd
#     serving the same file statically                        >= 0.5
#   - 256 MiB file throughput, agent vs static                 >= 0.9
#   - file-content redirect rps vs the no-op FastCGI floor     >= 0.75
set -uo pipefail
. ./lib.sh
AGENT_PID=
agent_stop() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	bench_stop
}
trap agent_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
A="Authorization: Bearer $KEY"
BIG_MB=${BENCH_AGENT_BIG_MB:-256}
AGENT_BIN=$BENCH_BUILD/filestor-agent
export XDG_CONFIG_HOME=$BENCH_TMP/xdg

report "what" "value" "baseline" "ratio" "target"

# The same files for lighttpd (static) and for the agent (its root).
head -c 4096 /dev/urandom >"$STATIC_DIR/a4k.bin"
head -c $((BIG_MB * 1048576)) /dev/urandom >"$STATIC_DIR/abig.bin"

aport=$(serve_free_port)
aorigin="http://127.0.0.1:$aport"
et=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
aid=$("$AGENT_BIN" enroll --server "$BASE" --token "$et" --name bench \
    --allowed-roots "$STATIC_DIR" 2>/dev/null) || { echo "bench: enroll failed" >&2; exit 1; }
key=$(curl -s -H "$A" -H 'Content-Type: application/json' \
    --data "{\"hostname\":\"$aorigin\"}" "$BASE/api/agents/$aid/tunnel" | jq -r .signingKey)
printf '%s\n' "$key" | "$AGENT_BIN" configure-tunnel --hostname "$aorigin" --key - 2>/dev/null
"$AGENT_BIN" run --listen "127.0.0.1:$aport" 2>>"$BENCH_TMP/agent.log" &
AGENT_PID=$!
for _ in $(seq 1 50); do
	curl -s -o /dev/null "$aorigin/healthz" && break
	sleep 0.1
done

# location PATH: the signed URL the backend hands out for PATH (a 302).
location() {
	local out
	out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "$A" \
	    "$BASE/api/file/content?agent=$aid&path=$1")
	[ "${out%% *}" = 302 ] && [ -n "${out#* }" ] && { echo "${out#* }"; return; }
	bench_fail "file-content $1" "answered ${out%% *}, not a redirect"
	echo "$BASE/no-signed-url"
}

# --- 4 KiB through the agent vs static
u4k=$(location "$STATIC_DIR/a4k.bin")
read -r agent4k static4k < <(bench_wrk_pair "$u4k" "" "$BASE/bench/static/a4k.bin" "")
report "4 KiB rps: agent (valid token) vs lighttpd static" "$agent4k" "$static4k" \
    "$(ratio "$agent4k" "$static4k")" ">= 0.5"

# --- big file throughput: the median of BENCH_ROUNDS downloads
# each, agent and static interleaved.
speed() {
	local out
	out=$(curl -s -o /dev/null -w '%{http_code} %{speed_download}' "$1")
	[ "${out%% *}" = 200 ] && { echo "${out#* }"; return; }
	bench_fail "curl $1" "answered ${out%% *}"
}
cat "$STATIC_DIR/abig.bin" >/dev/null	# both from the page cache
ubig=$(location "$STATIC_DIR/abig.bin")
read -r as bs < <(bench_pair "speed '$ubig'" "speed '$BASE/bench/static/abig.bin'")
mib() { is_num "$1" && awk -v s="$1" 'BEGIN { printf "%.0f", s / 1048576 }' || echo -; }
agentbig=$(mib "$as")
staticbig=$(mib "$bs")
report "$BIG_MB MiB MiB/s: agent vs lighttpd static" "$agentbig" "$staticbig" \
    "$(ratio "$agentbig" "$staticbig")" ">= 0.9"

# --- the redirect vs the no-op FastCGI floor
read -r redir noop < <(bench_wrk_pair \
    "$BASE/api/file/content?agent=$aid&path=$STATIC_DIR/a4k.bin" "$A" "$BASE/bench/noop" "")
report "file-content 302 rps vs no-op FastCGI" "$redir" "$noop" \
    "$(ratio "$redir" "$noop")" ">= 0.75"
# Context, no target: the same against GET /api/auth/me, the cheapest
# authenticated program, i.e. what authentication alone costs here.
read -r redir2 me < <(BENCH_ROUNDS=3 bench_wrk_pair \
    "$BASE/api/file/content?agent=$aid&path=$STATIC_DIR/a4k.bin" "$A" "$BASE/api/auth/me" "$A")
report "file-content 302 rps vs GET /api/auth/me (auth floor)" "$redir2" "$me" \
    "$(ratio "$redir2" "$me")" "report"
