# Scale-out (issue 18): two front ends on one PostgreSQL and one bucket
# (tests/run HOSTS=2). Every check crosses the hosts, naming each one by
# its full URL: HA is BASE, HB is BASE_B. Sessions, API keys and signed
# URLs made on one work on the other, and revocations reach it at once;
# concurrent writes of one key, of one enrollment token, of a folder and
# the file moving into it, and of one agent's tunnel key leave one
# consistent state; a PostgreSQL restart is a 503 with Retry-After on
# both, never a dead worker, and both serve again once it is back.
#
# With one host (SQLite, or DB=pg alone) HB is HA: the same checks
# against the one host, where they still mean something (a race between
# two workers). The restart only runs on PostgreSQL.

HA=$BASE
HB=${BASE_B:-$BASE}
RUNTMP=$(dirname "$TEST_TMP")
AGENT_BIN=$FILESTOR_BUILD/filestor-agent
AGENT_PID=
APORT=$(serve_free_port)
AORIGIN="http://127.0.0.1:$APORT"
export XDG_CONFIG_HOME=$TEST_TMP/xdg22
J=(-H 'Content-Type: application/json')

# host N: the host of the Nth of a set of concurrent requests (even: A).
host() { if [ $(($1 % 2)) -eq 0 ]; then echo "$HA"; else echo "$HB"; fi; }
hname() { if [ $(($1 % 2)) -eq 0 ]; then echo A; else echo B; fi; }

# --- concurrent requests: started together, each into its own files
# bg OUT URL [curl args]: one request in the background, held until go;
# OUT.status (000 when curl failed), OUT.body, OUT.headers.
BG=()
bg() {
	local out=$1 url=$2
	shift 2
	rm -f "$out".*
	(
		while [ ! -e "$TEST_TMP/go" ]; do sleep 0.005; done
		curl -sS -g -o "$out.body" -D "$out.headers" -w '%{http_code}' \
		    "$@" "$url" >"$out.status" 2>"$out.err"
	) &
	BG+=($!)
}
# go: release them all and wait for every one.
go() {
	sleep 0.2	# all of them at the gate
	: >"$TEST_TMP/go"
	wait "${BG[@]}"
	BG=()
	rm -f "$TEST_TMP/go"
}
st() { cat "$1.status" 2>/dev/null || echo none; }
# all_in "SET" STATUS...: every status is one of SET (a space-separated list).
all_in() {
	local set=" $1 " s
	shift
	for s in "$@"; do
		case "$set" in *" $s "*) ;; *) echo "    status $s not in ($1)" >&2; return 1 ;; esac
	done
}
count() { local w=$1 n=0 s; shift; for s in "$@"; do [ "$s" = "$w" ] && n=$((n + 1)); done; echo $n; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# brief FILE: an error body in short (its code and request id, for the
# worker logs), else its first bytes.
brief() {
	jq -r '.error | "\(.code) \(.requestId // "")"' <"$1" 2>/dev/null ||
	    head -c 60 "$1" | tr -d '\n'
}
# one_of WORD LIST...: WORD (not empty) is in LIST.
one_of() {
	local w=$1 x
	shift
	[ -n "$w" ] || return 1
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	echo "    '$w' is none of them" >&2
	return 1
}

# --- the tenant: an admin with a password and a key made by filestorctl
PW='scale-out-passw0rd'
EMAIL=scale$RANDOM$RANDOM@example.com
TID=$(mk_tenant scaleout)
UADM=$(mk_user "$TID" admin "$PW" "$EMAIL")
KADM=$(mk_key "$TID" "$UADM")
ADM=(-H "Authorization: Bearer $KADM")
check "fixture: admin key made by filestorctl" has "$KADM" "fs_"

# ====================================================================
# 1. Sessions, API keys and signed URLs cross the hosts.
# ====================================================================
me_is() { # HOST STATUS [curl args]: GET /api/auth/me on HOST answers STATUS
	local h=$1 s=$2
	shift 2
	req GET "$h/api/auth/me" "$@"
	[ "$STATUS" = "$s" ]
}
login() { # HOST JAR
	req POST "$1/api/auth/login" "${J[@]}" -c "$2" \
	    --data "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}"
}
login "$HA" "$TEST_TMP/jar-a"
expect_status 200 "login on A"
req GET "$HB/api/auth/me" -b "$TEST_TMP/jar-a"
expect_status 200 "A's session works on B"
check "A's session on B: the user, by session" eq "$(jqb '[.user.id, .via] | @tsv')" "$UADM	session"
login "$HB" "$TEST_TMP/jar-b"
expect_status 200 "login on B"
req GET "$HA/api/auth/me" -b "$TEST_TMP/jar-b"
expect_status 200 "B's session works on A"

req GET "$HA/api/auth/me" "${ADM[@]}"
expect_status 200 "filestorctl's key works on A"
req GET "$HB/api/auth/me" "${ADM[@]}"
expect_status 200 "filestorctl's key works on B"
check "the key on B: the user, by key" eq "$(jqb '[.user.id, .via] | @tsv')" "$UADM	apikey"

# Signed URLs: signed on one, fetched on the other without credentials.
printf 'signed on one host, fetched on the other\n' >"$TEST_TMP/signed.txt"
req PUT "$HA/api/storage/scale/signed.txt" "${ADM[@]}" --data-binary @"$TEST_TMP/signed.txt"
expect_status 201 "PUT on A"
req POST "$HA/api/storage/scale/signed.txt/sign" "${ADM[@]}" "${J[@]}" --data '{"ttlSeconds":120}'
expect_status 200 "sign on A"
URL_A=$(jqb .url)
req GET "$HB$URL_A"
expect_status 200 "URL signed on A: fetched on B"
check "URL signed on A: B serves the bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/signed.txt"
req POST "$HB/api/storage/scale/signed.txt/sign" "${ADM[@]}" --data ''
expect_status 200 "sign on B"
req GET "$HA$(jqb .url)"
expect_status 200 "URL signed on B: fetched on A"
check "URL signed on B: A serves the bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/signed.txt"
req GET "$HB${URL_A%?????}AAAAA"
expect_error 401 UNAUTHORIZED "a URL signed on A, tampered: refused on B"

# Logout on A ends the session on B at once (no cache on B).
req POST "$HA/api/auth/logout" -b "$TEST_TMP/jar-a" -H 'X-Requested-With: XMLHttpRequest' --data ''
expect_status 204 "logout on A"
req GET "$HB/api/auth/me" -b "$TEST_TMP/jar-a"
expect_error 401 UNAUTHORIZED "after logout on A: the cookie refused on B at once"
req GET "$HA/api/auth/me" -b "$TEST_TMP/jar-a"
expect_error 401 UNAUTHORIZED "after logout on A: refused on A"
req GET "$HA/api/auth/me" -b "$TEST_TMP/jar-b"
expect_status 200 "B's session outlives A's logout"

# A key made on A through the API, used on B, revoked on B: refused on A
# at once; and the other way round.
# key_cycle MAKER REVOKER NAME: the whole round, checks named NAME.
key_cycle() {
	local k id
	req POST "$1/api/auth/keys" "${ADM[@]}" "${J[@]}" --data "{\"name\":\"$3\"}"
	expect_status 201 "$3: key made"
	k=$(jqb .key)
	id=$(jqb .id)
	check "$3: the new key works on the other host" me_is "$2" 200 -H "Authorization: Bearer $k"
	check "$3: the new key works on its own host" me_is "$1" 200 -H "Authorization: Bearer $k"
	req DELETE "$2/api/auth/keys/$id" "${ADM[@]}"
	expect_status 204 "$3: revoked on the other host"
	req GET "$1/api/auth/me" -H "Authorization: Bearer $k"
	expect_error 401 UNAUTHORIZED "$3: refused at once on the host that made it"
	check "$3: revoked, says so" has "$(jqb .error.message)" "revoked"
	check "$3: refused on the revoking host" me_is "$2" 401 -H "Authorization: Bearer $k"
}
key_cycle "$HA" "$HB" "key made on A, revoked on B"
key_cycle "$HB" "$HA" "key made on B, revoked on A"

# filestorctl's revoke reaches both hosts at once.
K2=$(mk_key "$TID" "$UADM")
check "second filestorctl key: works on A" me_is "$HA" 200 -H "Authorization: Bearer $K2"
check "second filestorctl key: works on B" me_is "$HB" 200 -H "Authorization: Bearer $K2"
KID2=$("$FILESTORCTL" apikey list --tenant "$TID" | awk -F'\t' 'NR > 1 && $0 ~ /active/ { id = $1 } END { print id }')
"$FILESTORCTL" apikey revoke "$KID2" >/dev/null
check "filestorctl apikey revoke" eq "$?" 0
check "filestorctl's revoke: refused on A at once" me_is "$HA" 401 -H "Authorization: Bearer $K2"
check "filestorctl's revoke: refused on B at once" me_is "$HB" 401 -H "Authorization: Bearer $K2"
check "the first key is not the one revoked" me_is "$HB" 200 "${ADM[@]}"

# ====================================================================
# 2. Concurrent PUTs of one key across the hosts: one row, one body.
# ====================================================================
NPUT=10
for i in $(seq 0 $((NPUT - 1))); do
	{ printf 'body %d of the race\n' "$i"; head -c 300000 /dev/urandom; } >"$TEST_TMP/put.$i"
	SHA[i]=$(sha "$TEST_TMP/put.$i")
done
# put_race ROUND WANT201: NPUT PUTs of scale/race.bin at once, alternating
# hosts; WANT201 is how many may say 201 (1: a new key; 0: overwrites).
put_race() {
	local r=$1 i s sh ok=1 heads=()
	for i in $(seq 0 $((NPUT - 1))); do
		bg "$TEST_TMP/pr$r.$i" "$(host "$i")/api/storage/scale/race.bin" -X PUT \
		    "${ADM[@]}" -H 'Content-Type: application/octet-stream' \
		    --data-binary @"$TEST_TMP/put.$i"
	done
	go
	local sts=()
	for i in $(seq 0 $((NPUT - 1))); do sts+=("$(st "$TEST_TMP/pr$r.$i")"); done
	check "PUT race $r: every answer 200 or 201 (${sts[*]})" all_in "200 201" "${sts[@]}"
	check "PUT race $r: $2 of them made the row (201)" eq "$(count 201 "${sts[@]}")" "$2"
	# Each answer describes what that PUT stored.
	for i in $(seq 0 $((NPUT - 1))); do
		sh=$(jq -r .sha256 <"$TEST_TMP/pr$r.$i.body" 2>/dev/null)
		[ "$sh" = "${SHA[i]}" ] || { ok=0; echo "    PUT $i ($(hname "$i")): answered sha256 $sh" >&2; }
	done
	check "PUT race $r: each answer has its own body's sha256" eq "$ok" 1
	# One row, on both hosts' lists.
	req GET "$HA/api/storage?prefix=scale/race" "${ADM[@]}"
	expect_status 200 "PUT race $r: list on A"
	check "PUT race $r: A lists the key once" eq "$(jqb '[.items[] | select(.key == "scale/race.bin")] | length')" 1
	local meta etag size
	meta=$(jqb '.items[] | select(.key == "scale/race.bin") | .sha256')
	etag=$(jqb '.items[] | select(.key == "scale/race.bin") | .etag')
	size=$(jqb '.items[] | select(.key == "scale/race.bin") | .size')
	req GET "$HB/api/storage?prefix=scale/race" "${ADM[@]}"
	check "PUT race $r: B lists the key once" eq "$(jqb '[.items[] | select(.key == "scale/race.bin")] | length')" 1
	check "PUT race $r: B's row is A's" eq "$(jqb '.items[] | select(.key == "scale/race.bin") | .sha256')" "$meta"
	check "PUT race $r: the row's sha256 is one of the bodies'" one_of "$meta" "${SHA[@]}"
	check "PUT race $r: the row's etag is its sha256" eq "$etag" "\"$meta\""
	# The bytes on both hosts: the row's body.
	for h in A B; do
		if [ $h = A ]; then req GET "$HA/api/storage/scale/race.bin" "${ADM[@]}"
		else req GET "$HB/api/storage/scale/race.bin" "${ADM[@]}"; fi
		expect_status 200 "PUT race $r: GET on $h"
		check "PUT race $r: $h serves the bytes whose sha256 the row holds" eq "$(sha "$TEST_TMP/body")" "$meta"
		check "PUT race $r: $h's ETag is the row's" eq "$(hdr ETag)" "$etag"
		check "PUT race $r: $h's length is the row's" eq "$(wc -c <"$TEST_TMP/body")" "$size"
		heads+=("$(sha "$TEST_TMP/body")")
	done
	check "PUT race $r: both hosts serve the same bytes" eq "${heads[0]}" "${heads[1]}"
}
put_race 1 1
put_race 2 0

# ====================================================================
# 3. One enrollment token at both hosts at once: exactly one agent.
# ====================================================================
NENR=8
for r in 1 2 3; do
	ET=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
	for i in $(seq 0 $((NENR - 1))); do
		bg "$TEST_TMP/en$r.$i" "$(host "$i")/api/agents/enroll" -X POST "${J[@]}" \
		    --data "{\"token\":\"$ET\",\"name\":\"race$r\",\"allowedRoots\":[\"/srv/race$r\"]}"
	done
	go
	sts=()
	for i in $(seq 0 $((NENR - 1))); do sts+=("$(st "$TEST_TMP/en$r.$i")"); done
	check "enroll race $r: every answer 201 or 401 (${sts[*]})" all_in "201 401" "${sts[@]}"
	check "enroll race $r: exactly one succeeded" eq "$(count 201 "${sts[@]}")" 1
	winner=""
	for i in $(seq 0 $((NENR - 1))); do
		[ "$(st "$TEST_TMP/en$r.$i")" = 201 ] && winner=$(jq -r .agentId <"$TEST_TMP/en$r.$i.body")
	done
	for h in A B; do
		if [ $h = A ]; then req GET "$HA/api/agents" "${ADM[@]}"; else req GET "$HB/api/agents" "${ADM[@]}"; fi
		check "enroll race $r: $h lists one agent race$r, the winner" eq \
		    "$(jqb --arg n "race$r" '[.items[] | select(.name == $n) | .id] | @tsv')" "$winner"
	done
	req POST "$HB/api/agents/enroll" "${J[@]}" \
	    --data "{\"token\":\"$ET\",\"name\":\"late\",\"allowedRoots\":[\"/srv\"]}"
	expect_error 401 UNAUTHORIZED "enroll race $r: the token is used up on B"
done

# ====================================================================
# 4. A folder deleted while a file moves into it, on the two hosts.
# ====================================================================
req PUT "$HA/api/storage/scale/mover.txt" "${ADM[@]}" --data-binary 'moving'
expect_status 201 "folder race: the file"
# folder_ids HOST: the tenant's folder ids, one a line.
folder_ids() {
	curl -sS "${ADM[@]}" "$1/api/folders?limit=1000" | jq -r '.items[].id'
}
file_folder() { # HOST: the file's folderId on HOST ("null" when none)
	curl -sS "${ADM[@]}" "$1/api/storage?prefix=scale/mover.txt" |
	    jq -r '.items[] | select(.key == "scale/mover.txt") | .folderId'
}
NFOLD=12
bad_status=""
dangling=""
outcomes=""
for r in $(seq 1 $NFOLD); do
	req POST "$HA/api/folders" "${ADM[@]}" "${J[@]}" --data "{\"name\":\"race/r$r\"}"
	if [ "$STATUS" != 201 ]; then
		bad_status="$bad_status round $r: folder create $STATUS"
		continue
	fi
	FID=$(jqb .id)
	# The patch on one host, the delete on the other; swapped each round.
	bg "$TEST_TMP/fp$r" "$(host "$r")/api/storage/scale/mover.txt" -X PATCH "${ADM[@]}" "${J[@]}" \
	    --data "{\"folderId\":\"$FID\"}"
	bg "$TEST_TMP/fd$r" "$(host $((r + 1)))/api/folders/$FID" -X DELETE "${ADM[@]}"
	go
	ps=$(st "$TEST_TMP/fp$r")
	ds=$(st "$TEST_TMP/fd$r")
	outcomes="$outcomes $ps/$ds"
	case "$ps/$ds" in
	200/409 | 422/204) ;;
	*) bad_status="$bad_status round $r: patch on $(hname "$r") $ps $(brief "$TEST_TMP/fp$r.body"), delete on $(hname $((r + 1))) $ds $(brief "$TEST_TMP/fd$r.body");" ;;
	esac
	for h in "$HA" "$HB"; do
		ff=$(file_folder "$h")
		if [ "$ff" = "$FID" ] && ! folder_ids "$h" | grep -qx "$FID"; then
			dangling="$dangling round $r: the file names folder $FID, which $h does not have;"
		fi
	done
	# Back to the start: the file in no folder, the folder gone.
	req PATCH "$HA/api/storage/scale/mover.txt" "${ADM[@]}" "${J[@]}" --data '{"folderId":null}'
	[ "$STATUS" = 200 ] || bad_status="$bad_status round $r: reset patch $STATUS;"
	if folder_ids "$HB" | grep -qx "$FID"; then
		req DELETE "$HB/api/folders/$FID" "${ADM[@]}"
		[ "$STATUS" = 204 ] || bad_status="$bad_status round $r: cleanup delete $STATUS;"
	fi
done
echo "    folder race outcomes (patch/delete):$outcomes" >&2
check "folder race: $NFOLD rounds, each patch 200 with delete 409, or delete 204 with patch 422" eq "$bad_status" ""
check "folder race: never a file in a folder that does not exist" eq "$dangling" ""
check "folder race: the file ends in no folder, on both hosts" eq "$(file_folder "$HA") $(file_folder "$HB")" "null null"

# ====================================================================
# 5. Tunnel key rotation on both hosts at once.
# ====================================================================
trap stop_agent EXIT
# signed_by TOKEN KEY: the token's MAC is HMAC-SHA256(KEY, payload).
signed_by() {
	local p=${1%.*} mac=${1##*.} hk
	hk=$(b64u_dec "$2" | hexof)
	[ "$(printf '%s' "$p" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hk" -binary | b64u)" = "$mac" ]
}
R1=$TEST_TMP/root22
mkdir -p "$R1"
printf 'served after the rotations\n' >"$R1/f.txt"
ET=$("$FILESTORCTL" agent token --tenant "$TID" 2>/dev/null)
AID=$("$AGENT_BIN" enroll --server "$HB" --token "$ET" --name tunnel22 --allowed-roots "$R1" 2>"$TEST_TMP/enroll22.err")
check "rotate: the agent enrolled on B" eq "$(printf '%s' "$AID" | grep -cE '^[0-9a-f-]{36}$')" 1
req POST "$HA/api/agents/$AID/tunnel" "${ADM[@]}" "${J[@]}" --data "{\"hostname\":\"$AORIGIN\"}"
expect_status 200 "rotate: the tunnel enabled on A"
K0=$(jqb .signingKey)
NROT=8
for i in $(seq 0 $((NROT - 1))); do
	bg "$TEST_TMP/rot.$i" "$(host "$i")/api/agents/$AID/tunnel/rotate" -X POST "${ADM[@]}" --data ''
done
go
sts=()
KEYS=()
for i in $(seq 0 $((NROT - 1))); do
	sts+=("$(st "$TEST_TMP/rot.$i")")
	[ "$(st "$TEST_TMP/rot.$i")" = 200 ] && KEYS+=("$(jq -r .signingKey <"$TEST_TMP/rot.$i.body")")
done
check "rotate race: every answer 200 or 409 (${sts[*]})" all_in "200 409" "${sts[@]}"
check "rotate race: at least one rotated" neq "${#KEYS[@]}" 0
check "rotate race: each 200 showed a key of its own" eq "$(printf '%s\n' "${KEYS[@]}" | sort -u | grep -c .)" "${#KEYS[@]}"
for i in $(seq 0 $((NROT - 1))); do
	if [ "$(st "$TEST_TMP/rot.$i")" = 409 ]; then
		check "rotate race: $i's 409 is a JSON CONFLICT" eq "$(jq -r .error.code <"$TEST_TMP/rot.$i.body")" CONFLICT
	fi
done
agent_state() { # HOST: the agent as HOST shows it, keys sorted
	curl -sS "${ADM[@]}" "$1/api/agents/$AID" | jq -S -c .
}
SA=$(agent_state "$HA")
check "rotate race: both hosts show the same agent" eq "$SA" "$(agent_state "$HB")"
check "rotate race: the tunnel is on, with its origin" eq "$(printf '%s' "$SA" | jq -r '[.tunnel.enabled, .tunnel.hostname] | @tsv')" "true	$AORIGIN"
# redirect HOST: the file-content redirect's token, as HOST signs it.
redirect() {
	req GET "$1/api/file/content?agent=$AID&path=$(jq -rn --arg p "$R1/f.txt" '$p|@uri')" "${ADM[@]}"
	LOC=$(hdr Location)
	TOK=${LOC##*token=}
}
redirect "$HA"
expect_status 302 "after the rotations: A redirects"
LOC_A=$LOC
KF=""
for k in "${KEYS[@]}"; do signed_by "$TOK" "$k" && KF=$k; done
check "A's redirect is signed with one of the rotated keys" neq "$KF" ""
check "A's redirect is not signed with the first key" neq "$(signed_by "$TOK" "$K0"; echo $?)" 0
redirect "$HB"
expect_status 302 "after the rotations: B redirects"
LOC_B=$LOC
check "B's redirect: the same origin" eq "${LOC_B%%\?*}" "${LOC_A%%\?*}"
check "B's redirect is signed with A's key" signed_by "$TOK" "${KF:-none}"
# The agent with that key serves both redirects.
if [ -n "$KF" ]; then
	printf '%s\n' "$KF" | "$AGENT_BIN" configure-tunnel --hostname "$AORIGIN" --key - 2>/dev/null
	"$AGENT_BIN" run --listen "127.0.0.1:$APORT" 2>>"$TEST_TMP/agent22.log" &
	AGENT_PID=$!
	check "rotate: the agent starts with the last key" agent_wait
	req GET "$LOC_A"
	expect_status 200 "the agent serves A's redirect"
	check "A's redirect: the bytes" cmp -s "$TEST_TMP/body" "$R1/f.txt"
	req GET "$LOC_B"
	expect_status 200 "the agent serves B's redirect"
	check "B's redirect: the bytes" cmp -s "$TEST_TMP/body" "$R1/f.txt"
	online() { [ "$(curl -sS "${ADM[@]}" "$1/api/agents/$AID" | jq -r .online)" = true ]; }
	check "the running agent is online on A" wait_for 10 online "$HA"
	check "the running agent is online on B" wait_for 10 online "$HB"
	stop_agent
fi

# ====================================================================
# 5b. A resumable upload goes on from the other host (S3, two hosts;
# docs/uploads.md "More than one host"): A's stage holds the bytes
# after the last part, so B says the upload is at the end of the parts,
# takes it over from there, and A, no longer its host, says the same.
# ====================================================================
if [ "${STORE:-}" = s3 ] && [ "$HB" != "$HA" ]; then
	PART=${S3_PART_BYTES:-5242880}
	TSZ=$((PART * 2 + 1000))
	head -c "$TSZ" /dev/urandom >"$TEST_TMP/tus.bin"
	TUS=(-H 'Tus-Resumable: 1.0.0')
	# tpatch HOST OFFSET COUNT: PATCH bytes [OFFSET, OFFSET+COUNT) to HOST.
	tpatch() {
		tail -c +$(($2 + 1)) "$TEST_TMP/tus.bin" | head -c "$3" >"$TEST_TMP/tus.part"
		req PATCH "$1$TLOC" "${ADM[@]}" "${TUS[@]}" \
		    -H 'Content-Type: application/offset+octet-stream' \
		    -H "Upload-Offset: $2" --data-binary @"$TEST_TMP/tus.part"
	}
	# at HOST OFFSET: HEAD on HOST says OFFSET.
	at() { req HEAD "$1$TLOC" "${ADM[@]}" "${TUS[@]}" && eq "$STATUS $(hdr Upload-Offset)" "200 $2"; }
	host_of() { tsql "SELECT stage_host FROM uploads WHERE id = '${TLOC##*/}'"; }
	req POST "$HA/api/uploads" "${ADM[@]}" "${TUS[@]}" -H "Upload-Length: $TSZ" \
	    -H "Upload-Metadata: key $(printf 'tus/moved.bin' | base64 -w0)" -H 'Content-Length: 0'
	expect_status 201 "tus across hosts: created on A"
	TLOC=$(hdr Location)
	tpatch "$HA" 0 $((PART + 500))
	expect_status 204 "tus across hosts: a part and 500 bytes to A"
	check "tus across hosts: one part went to the bucket" eq \
	    "$(tsql "SELECT count(*) FROM upload_parts WHERE upload_id = '${TLOC##*/}'")" 1
	HOST_A=$(host_of)
	check "tus across hosts: A says the offset" at "$HA" $((PART + 500))
	check "tus across hosts: B says the end of the part" at "$HB" "$PART"
	tpatch "$HB" $((PART + 500)) 100
	expect_error 409 CONFLICT "tus across hosts: B refuses A's offset"
	check "tus across hosts: B says where it is" has "$(body)" "is at $PART"
	tpatch "$HB" "$PART" $((PART / 2))
	expect_status 204 "tus across hosts: B takes it over from the part"
	check "tus across hosts: B's offset" eq "$(hdr Upload-Offset)" $((PART + PART / 2))
	check "tus across hosts: the stage is B's now" test "$(host_of)" != "$HOST_A"
	check "tus across hosts: B says its offset" at "$HB" $((PART + PART / 2))
	check "tus across hosts: A says the end of the part" at "$HA" "$PART"
	tpatch "$HA" $((PART + PART / 2)) 100
	expect_error 409 CONFLICT "tus across hosts: A refuses B's offset"
	tpatch "$HA" "$PART" $((TSZ - PART))
	expect_status 204 "tus across hosts: A takes it back and sends the rest"
	check "tus across hosts: the upload is over" eq \
	    "$(tsql "SELECT count(*) FROM uploads WHERE id = '${TLOC##*/}'")" 0
	check "tus across hosts: the row's sha256 is the file's" eq "$(tsql \
	    "SELECT sha256 FROM files WHERE key = 'tenants/$TID/tus/moved.bin'")" \
	    "$(sha256sum <"$TEST_TMP/tus.bin" | cut -c1-64)"
	req GET "$HB/api/storage/tus/moved.bin" "${ADM[@]}"
	expect_status 200 "tus across hosts: B serves the file"
	check "tus across hosts: the bytes" cmp -s "$TEST_TMP/body" "$TEST_TMP/tus.bin"
	rm -f "$TEST_TMP/tus.bin" "$TEST_TMP/tus.part"
fi

# ====================================================================
# 6. PostgreSQL stops and starts again under both hosts.
# ====================================================================
case "${FILESTOR_DB:-}" in
postgresql://* | postgres://*) PG=1 ;;
*) PG=0 ;;
esac
# tests/run sourced tests/pg.sh: its functions and settings are here.
if [ "$PG" = 1 ] && ! { declare -F pg_stop pg_restart pg_run_start >/dev/null &&
    [ -d "${PG_TEST_DIR:-}" ]; }; then
	fail "pg restart: tests/pg.sh's functions and PG_TEST_DIR are not here"
	PG=0
fi
if [ "$PG" = 1 ]; then
	pass "pg restart: tests/pg.sh's functions and PG_TEST_DIR are here"
	SOCKS=("$FILESTOR_SOCK_DIR")
	LOGS=("$FILESTOR_LOG")
	if [ -n "${BASE_B:-}" ]; then
		SOCKS+=("$(cat "$RUNTMP/host-b.sock")")
		LOGS+=("$(cat "$RUNTMP/host-b.log")")
	fi
	HOSTS_UP=("$HA")
	[ -n "${BASE_B:-}" ] && HOSTS_UP+=("$HB")
	# Every worker of every program on each host, and how many pool
	# lines ("starting another") each log holds so far.
	workers_now() {
		local d
		for d in "${SOCKS[@]}"; do cat "$d"/*.pid.workers; done 2>/dev/null | sort -n
	}
	deaths() { cat "${LOGS[@]}" 2>/dev/null | grep -ac '; starting another$'; }
	WORKERS0=$(workers_now)
	DEATHS0=$(deaths)
	check "pg restart: the workers are known ($(echo "$WORKERS0" | wc -l))" test "$(echo "$WORKERS0" | grep -c .)" -ge 4
	req PUT "$HA/api/storage/scale/pg.txt" "${ADM[@]}" --data-binary 'pg'
	expect_status 201 "pg restart: a file to read"
	pg_up() { [ -e "$PG_TEST_DIR/data/postmaster.pid" ]; }
	# Whatever happens below, PostgreSQL runs again for the next file.
	trap 'stop_agent; pg_up || pg_run_start' EXIT
	# One route for each of several programs.
	ROUTES=(/api/auth/me /api/storage/scale/pg.txt "/api/storage?prefix=scale/" /api/folders /api/agents)

	# serves_again LABEL: after a restart, on every host and for every
	# route, 8 GETs in a row succeed. Each worker may fail the one request
	# that finds its old connection gone (a JSON 503 with Retry-After),
	# should its ping not see the drop; more is a worker that does not
	# reconnect. A write, retried as a client would on a 503, is read on
	# the other host.
	serves_again() {
		local h rt n503 ok bad="" i all503=0
		for h in "${HOSTS_UP[@]}"; do
			for rt in "${ROUTES[@]}"; do
				n503=0
				ok=0
				for _ in $(seq 1 16); do
					req GET "$h$rt" "${ADM[@]}"
					case "$STATUS" in
					200) ok=$((ok + 1)) ;;
					503) n503=$((n503 + 1)); ok=0
					    [ "$(jqb .error.code)" = UNAVAILABLE ] && [ -n "$(hdr Retry-After)" ] ||
					        bad="$bad $h$rt: a 503 without JSON or Retry-After;" ;;
					*) bad="$bad $h$rt: $STATUS $(brief "$TEST_TMP/body");"; ok=0 ;;
					esac
					[ "$ok" -ge 8 ] && break
				done
				[ "$ok" -ge 8 ] || bad="$bad $h$rt: not 8 successes in a row in 16 tries;"
				# A 503 for each worker at most: more is one
				# that did not reconnect.
				[ "$n503" -le "${FILESTOR_WORKERS:-2}" ] ||
				    bad="$bad $h$rt: $n503 503s after the restart;"
				all503=$((all503 + n503))
			done
			for i in 1 2 3; do
				req PUT "$h/api/storage/scale/back.txt" "${ADM[@]}" --data-binary "$1 on $h"
				[ "$STATUS" = 503 ] || break
			done
			case "$STATUS" in 200 | 201) ;; *) bad="$bad PUT on $h: $STATUS $(brief "$TEST_TMP/body");" ;; esac
		done
		echo "    $1: $all503 GETs answered 503 on the way back" >&2
		check "$1: every host and program serves again (8 in a row)" eq "$bad" ""
		check "$1: a write on one host is read on the other" eq \
		    "$(curl -sS "${ADM[@]}" "$HA/api/storage/scale/back.txt")" "$1 on ${HOSTS_UP[-1]}"
		check "$1: no worker died" eq "$(deaths)" "$DEATHS0"
		check "$1: every worker is the one it was" eq "$(workers_now)" "$WORKERS0"
	}

	now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
	# (a) A restart under load: every answer 200, or 503 as below.
	rm -f "$TEST_TMP/load.stop"
	load() { # HOST OUT: GETs round the routes until load.stop; one line each
		local n=0 s c
		while [ ! -e "$TEST_TMP/load.stop" ]; do
			s=$(curl -sS -o "$2.b" -D "$2.h" -w '%{http_code} %{time_total}' "${ADM[@]}" \
			    "$1${ROUTES[n % ${#ROUTES[@]}]}" 2>/dev/null)
			c=$(jq -r '.error.code // "-"' <"$2.b" 2>/dev/null)
			printf '%s %s %s %s %s %s\n' "${s% *}" "${c:--}" \
			    "$(grep -ci '^retry-after: [0-9]' "$2.h")" "${ROUTES[n % ${#ROUTES[@]}]}" \
			    "${s#* }s" "$(now_ms)" >>"$2"
			n=$((n + 1))
		done
	}
	LOADS=()
	: >"$TEST_TMP/load.A"
	: >"$TEST_TMP/load.B"
	for h in "${HOSTS_UP[@]}"; do
		if [ "$h" = "$HA" ]; then load "$HA" "$TEST_TMP/load.A" &
		else load "$HB" "$TEST_TMP/load.B" & fi
		LOADS+=($!)
	done
	sleep 1
	T0=$(now_ms)
	pg_restart >"$TEST_TMP/pg_restart.out" 2>&1
	check "pg restart under load: PostgreSQL restarted" eq "$?" 0
	T1=$(now_ms)
	echo "restart from $T0 to $T1 (ms)" >>"$TEST_TMP/pg_restart.out"
	sleep 1
	: >"$TEST_TMP/load.stop"
	wait "${LOADS[@]}"
	for h in A B; do
		[ "$h" = B ] && [ -z "${BASE_B:-}" ] && continue
		f=$TEST_TMP/load.$h
		check "pg restart under load ($h): $(wc -l <"$f") answers, each 200 or a JSON 503 UNAVAILABLE with Retry-After" \
		    eq "$(grep -v '^200 \|^503 UNAVAILABLE 1 ' "$f" | cut -d' ' -f1-4 | sort | uniq -c | tr -s ' ' | tr '\n' ';')" ""
		check "pg restart under load ($h): answers before and after it" eq \
		    "$(awk -v a="$T0" -v b="$T1" '$6 < a { x = 1 } $6 > b { y = 1 } END { print x + y }' "$f")" 2
	done
	serves_again "pg restarted under load"

	# (b) Down: every host and program answers 503, JSON, Retry-After.
	pg_stop
	check "pg down: stopped" test ! -e "$PG_TEST_DIR/data/postmaster.pid"
	down_bad=""
	for h in "${HOSTS_UP[@]}"; do
		for rt in "${ROUTES[@]}"; do
			for _ in 1 2 3 4; do
				req GET "$h$rt" "${ADM[@]}"
				if [ "$STATUS" != 503 ] || [ "$(jqb .error.code)" != UNAVAILABLE ] ||
				    [ -z "$(hdr Retry-After)" ] || [ "$(hdr Cache-Control)" != no-store ]; then
					down_bad="$down_bad $h$rt: $STATUS $(brief "$TEST_TMP/body") Retry-After '$(hdr Retry-After)';"
				fi
			done
		done
		req PUT "$h/api/storage/scale/down.txt" "${ADM[@]}" --data-binary 'down'
		[ "$STATUS" = 503 ] && [ "$(jqb .error.code)" = UNAVAILABLE ] ||
		    down_bad="$down_bad PUT on $h: $STATUS $(brief "$TEST_TMP/body");"
		req POST "$h/api/auth/login" "${J[@]}" --data "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}"
		[ "$STATUS" = 503 ] && [ "$(jqb .error.code)" = UNAVAILABLE ] ||
		    down_bad="$down_bad login on $h: $STATUS $(brief "$TEST_TMP/body");"
	done
	check "pg down: every request on every host is a JSON 503 UNAVAILABLE with Retry-After" eq "$down_bad" ""
	check "pg down: the message says why" eq "$(jqb .error.message)" "the database is unavailable"
	check "pg down: no worker died" eq "$(deaths)" "$DEATHS0"
	check "pg down: every worker is the one it was" eq "$(workers_now)" "$WORKERS0"

	# (c) Back.
	pg_run_start >"$TEST_TMP/pg_start.out" 2>&1
	check "pg back: started" eq "$?" 0
	serves_again "pg back"
	trap stop_agent EXIT
fi
