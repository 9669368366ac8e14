# WS relay benchmarks (issue 15, docs/relay.md): ratios against the same
# file straight from the agent's own HTTP server, in the same run.
#   - 256 MiB through the relay vs straight from the agent      >= 0.7
#     (and, for scale, vs the same bytes from bench/noop's memory
#     behind the same lighttpd, written as file-content writes them)
#   - 4 KiB downloads per second, relay vs agent                >= 0.5
#     (and, for scale, vs bench/noop behind the same lighttpd)
#   - relay peak RSS, 50 concurrent 256 MiB downloads to slow
#     readers                                                    <= 64 MiB
set -uo pipefail
. ./lib.sh
AGENT_PID=
SLOW=()
relay_stop() {
	[ "${#SLOW[@]}" -eq 0 ] || kill "${SLOW[@]}" 2>/dev/null
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	bench_stop
}
trap relay_stop EXIT
bench_start || { echo "bench: server did not start" >&2; exit 1; }
A="Authorization: Bearer $KEY"
BIG_MB=${BENCH_RELAY_BIG_MB:-256}
AGENT_BIN=$BENCH_BUILD/filestor-agent
export XDG_CONFIG_HOME=$BENCH_TMP/xdg

report "what" "value" "baseline" "ratio" "target"

ROOT=$BENCH_TMP/root
mkdir -p "$ROOT"
head -c 4096 /dev/urandom >"$ROOT/a4k.bin"
head -c $((BIG_MB * 1048576)) /dev/urandom >"$ROOT/abig.bin"

aport=$(serve_free_port)
aorigin="http://127.0.0.1:$aport"
et=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
aid=$("$AGENT_BIN" enroll --server "$BASE" --token "$et" --name bench \
    --allowed-roots "$ROOT" 2>/dev/null) || { echo "bench: enroll failed" >&2; exit 1; }
# A tunnel key, so that the agent's own server can be asked directly
# (the baseline); the signed URLs stay good for five minutes after the
# tunnel is turned off again, which sends file-content to the relay.
key=$(curl -s -H "$A" -H 'Content-Type: application/json' \
    --data "{\"hostname\":\"$aorigin\"}" "$BASE/api/agents/$aid/tunnel" | jq -r .signingKey)
printf '%s\n' "$key" | "$AGENT_BIN" configure-tunnel --hostname "$aorigin" --key - 2>/dev/null
"$AGENT_BIN" run --listen "127.0.0.1:$aport" 2>>"$BENCH_TMP/agent.log" &
AGENT_PID=$!
location() {
	curl -s -o /dev/null -w '%{redirect_url}' -H "$A" \
	    "$BASE/api/file/content?agent=$aid&path=$1"
}
online() { curl -s -H "$A" "$BASE/api/agents" | jq -e --arg id "$aid" '.items[] | select(.id == $id) | .online' >/dev/null; }
for _ in $(seq 1 100); do online && break; sleep 0.1; done
u4k=$(location "$ROOT/a4k.bin")
ubig=$(location "$ROOT/abig.bin")
curl -s -o /dev/null -X DELETE -H "$A" "$BASE/api/agents/$aid/tunnel"
r4k="$BASE/api/file/content?agent=$aid&path=$ROOT/a4k.bin"
rbig="$BASE/api/file/content?agent=$aid&path=$ROOT/abig.bin"

# --- big file throughput: medians, relay and direct interleaved
speed() {
	local out
	out=$(curl -s -o /dev/null -w '%{http_code} %{speed_download}' "${@:2}" "$1")
	[ "${out%% *}" = 200 ] && { echo "${out#* }"; return; }
	bench_fail "curl $1" "answered ${out%% *}"
}
cat "$ROOT/abig.bin" >/dev/null
read -r rs ds < <(BENCH_ROUNDS=${BENCH_ROUNDS:-3} bench_pair "speed '$rbig' -H '$A'" "speed '$ubig'")
mib() { is_num "$1" && awk -v s="$1" 'BEGIN { printf "%.0f", s / 1048576 }' || echo -; }
report "$BIG_MB MiB MiB/s: relay vs the agent's own server" "$(mib "$rs")" "$(mib "$ds")" \
    "$(ratio "$(mib "$rs")" "$(mib "$ds")")" ">= 0.7"
# The fairer floor: lighttpd and FastCGI alone, a program that streams
# the bytes from memory in file-content's records (every relayed byte
# takes that hop last, after the agent's WebSocket through lighttpd).
read -r rs2 ns < <(BENCH_ROUNDS=${BENCH_ROUNDS:-3} bench_pair "speed '$rbig' -H '$A'" \
    "speed '$BASE/bench/noop?mib=$BIG_MB'")
report "$BIG_MB MiB MiB/s: relay vs lighttpd+FastCGI from memory" "$(mib "$rs2")" "$(mib "$ns")" \
    "$(ratio "$(mib "$rs2")" "$(mib "$ns")")" "-"

# --- 4 KiB downloads per second
read -r r4 d4 < <(bench_wrk_pair "$r4k" "$A" "$u4k" "")
report "4 KiB rps: relay vs the agent's own server" "$r4" "$d4" "$(ratio "$r4" "$d4")" ">= 0.5"
# The fairer floor: a program that does nothing behind the same lighttpd
# (every relayed request is a FastCGI request first).
read -r r4n n4 < <(bench_wrk_pair "$r4k" "$A" "$BASE/bench/noop" "")
report "4 KiB rps: relay vs a do-nothing FastCGI program" "$r4n" "$n4" "$(ratio "$r4n" "$n4")" "-"

# --- relay memory: 50 slow readers of the big file
base_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVE_RELAY_PID/status")
for _ in $(seq 1 50); do
	curl -s -o /dev/null --limit-rate 256K -H "$A" "$rbig" &
	SLOW+=("$!")
done
sleep "${BENCH_RELAY_SLOW_SECS:-8}"
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVE_RELAY_PID/status")
kill "${SLOW[@]}" 2>/dev/null
wait "${SLOW[@]}" 2>/dev/null
SLOW=()
report "relay peak RSS MiB, 50 slow 256 MiB downloads (idle RSS)" \
    "$((hwm_kb / 1024))" "$((base_kb / 1024))" "-" "<= 64"
