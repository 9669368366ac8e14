# First run: `make run` (tools/run) as a new user meets it, from a copy of
# the checkout at a deep path, under the suite's SERVER: it serves, runs
# as nobody privileged, survives a kill -9 of everything but its workers,
# refuses a taken port cleanly, and leaves nothing behind on Ctrl-C.
# Each run is its own process group, as under a terminal.

deep=$TEST_TMP/first
while [ "${#deep}" -lt 110 ]; do deep=$deep/a-rather-long-directory-name; done
mkdir -p "$deep"
cp -r "$FILESTOR_TOP/tools" "$FILESTOR_TOP/spawn-fcgi" "$FILESTOR_TOP/apache" \
    "$FILESTOR_TOP/etc" "$FILESTOR_TOP/lighttpd.conf" "$deep/"
check "the checkout path is over 100 bytes" test "${#deep}" -gt 100

# What the instance runs, found by the run dir in its environment.
fr_procs() { # RUNDIR
	grep -lzx "FILESTOR_RUN_DIR=$1" /proc/[0-9]*/environ 2>/dev/null |
	    sed 's|/proc/||; s|/environ||' | tr '\n' ' '
}
# fr_alive PIDS: how many still run (PID, or PID:START from serve_snap).
fr_alive() {
	local p n=0
	for p in $1; do serve_running "$p" && n=$((n + 1)); done
	echo "$n"
}

# fr_start TOP PORT [VAR=VALUE...]: tools/run in a new session with a
# clean environment, as a user would start it; sets FR_PID (its process
# group) and FR_LOG.
FR_N=0
fr_start() {
	local top=$1 port=$2
	shift 2
	FR_N=$((FR_N + 1))
	FR_LOG=$TEST_TMP/run.$FR_N.log
	setsid env -i PATH="$PATH" HOME=/root LANG=C.UTF-8 SERVER="$SERVER" \
	    PORT="$port" FILESTOR_USER="${FILESTOR_USER:-}" "$@" \
	    bash "$top/tools/run" "$FILESTOR_BUILD" >"$FR_LOG" 2>&1 </dev/null &
	FR_PID=$!
}
# fr_wait: until the banner says it serves, or it exits (then 1).
fr_wait() {
	local i
	for i in $(seq 1 300); do
		grep -qs '^Serving on' "$FR_LOG" && return 0
		kill -0 "$FR_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# fr_ctrl_c RUNDIR: SIGINT to the run's group, as a terminal sends it;
# prints how many of its processes still run after up to 30 s (make run
# gives the workers 7 s and its watchdog then looks again; three test
# passes on two cores slow all of that). Those left are named on stderr.
fr_ctrl_c() {
	local procs p
	procs=$(serve_snap "$(fr_procs "$1")")
	kill -INT -- "-$FR_PID"
	for _ in $(seq 1 300); do
		[ "$(fr_alive "$procs")" -eq 0 ] && break
		sleep 0.1
	done
	for p in $procs; do
		[ "$(fr_alive "$p")" -eq 1 ] &&
		    ps -o pid=,stat=,etime=,args= -p "${p%%:*}" >&2
	done
	fr_alive "$procs"
}
# fr_stop_all RUNDIR: the test's own cleanup, whatever happened.
fr_stop_all() {
	local p
	kill -INT -- "-$FR_PID" 2>/dev/null
	for p in $(fr_procs "$1"); do kill -9 "$p" 2>/dev/null; done
}

port=$(serve_free_port)
rundir=$deep/.data/run
fr_start "$deep" "$port"
if fr_wait; then
	pass "make run serves from a deep checkout"
	key=$(sed -n 's/^DEMO_KEY=//p' "$deep/.data/demo.env")
	req GET "http://127.0.0.1:$port/api/auth/me"
	expect_error 401 UNAUTHORIZED "deep checkout: /api/auth/me without a key is a JSON 401"
	sockdir=$(sed -n 's/^  sockets  //p' "$FR_LOG")
	check "sockets are in a short private directory" test "${#sockdir}" -lt 60
	check "the socket directory is 0700" eq "$(stat -c %a "$(dirname "$sockdir")")" 700
	procs=$(fr_procs "$rundir")
	check "the run has processes to look at" test "$(fr_alive "$procs")" \
	    -ge "$([ "$SERVER" = apache ] && echo 3 || echo 10)"
	if [ "$(id -u)" -eq 0 ]; then
		# The server and the programs; make run's own shell and its
		# watchdog (bash, sleep) stay root to clean up.
		served=$(for p in $procs; do ps -o comm=,user= -p "$p"; done |
		    awk '$1 != "bash" && $1 != "sleep" { print $1 ":" $2 }' | sort -u | tr '\n' ' ')
		check "as root: the server and the workers run ($served)" \
		    has "$served" "$([ "$SERVER" = apache ] && echo apache2 || echo lighttpd):$FILESTOR_USER"
		check "as root: none of them runs as root ($served)" \
		    eq "$(echo "$served" | grep -c ':root')" 0
	fi
	head -c 5000 /dev/urandom >"$TEST_TMP/obj"
	req PUT "http://127.0.0.1:$port/api/storage/first/obj.bin" \
	    -H "Authorization: Bearer $key" --data-binary @"$TEST_TMP/obj"
	expect_status 201 "deep checkout: an upload"

	# --- a crash: kill -9 of make run, its server and its watchdog;
	# only the workers, in their own sessions, live on.
	workers=$(serve_snap "$(cat "$sockdir"/*.pid "$sockdir"/*.pid.workers 2>/dev/null)")
	kill -9 -- "-$FR_PID" 2>/dev/null
	wait "$FR_PID" 2>/dev/null
	for p in $procs; do
		case " $workers " in *" $p:"*) ;; *) kill -9 "$p" 2>/dev/null ;; esac
	done
	sleep 0.5
	if [ "$SERVER" = lighttpd ]; then
		check "after the crash the old workers still run" test "$(fr_alive "$workers")" -gt 0
	fi
	fr_start "$deep" "$port"
	if fr_wait; then
		pass "make run starts again after a kill -9"
		req GET "http://127.0.0.1:$port/api/storage/first/obj.bin" \
		    -H "Authorization: Bearer $key"
		expect_status 200 "after the crash: the object is served"
		check "after the crash: the object is intact" cmp -s "$TEST_TMP/body" "$TEST_TMP/obj"
		check "the old workers are gone" eq "$(fr_alive "$workers")" 0
		if [ "$SERVER" = lighttpd ]; then
			check "a message says what was cleaned up" \
			    grep -q 'previous run left behind' "$FR_LOG"
		fi

		# --- the port is taken (by this run): a second make run
		# from another checkout fails fast, names it, leaves nothing.
		other=$TEST_TMP/other
		mkdir -p "$other"
		cp -r "$deep/tools" "$deep/spawn-fcgi" "$deep/apache" "$deep/etc" \
		    "$deep/lighttpd.conf" "$other/"
		pid1=$FR_PID
		fr_start "$other" "$port"
		t0=$(date +%s)
		for _ in $(seq 1 200); do kill -0 "$FR_PID" 2>/dev/null || break; sleep 0.1; done
		wait "$FR_PID"
		rc=$?
		check "taken port: make run exits non-zero" test "$rc" -ne 0
		check "taken port: within seconds" test $(($(date +%s) - t0)) -le 15
		check "taken port: the message names the port" grep -q "port $port .*already in use" "$FR_LOG"
		check "taken port: no lighttpd message" eq "$(grep -c 'unixsocket\|bind()' "$FR_LOG")" 0
		check "taken port: nothing of that run is left" eq "$(fr_procs "$other/.data/run")" ""
		FR_PID=$pid1

		# --- Ctrl-C (SIGINT to the group, as a terminal sends it)
		check "Ctrl-C stops every process of make run" eq "$(fr_ctrl_c "$rundir")" 0
		check "Ctrl-C removes the socket directory" test ! -e "$sockdir"
	else
		fail "make run starts again after a kill -9" "$(tail -n 20 "$FR_LOG")"
	fi
else
	fail "make run serves from a deep checkout" "$(tail -n 20 "$FR_LOG")"
fi
fr_stop_all "$rundir"

# --- a socket directory too long for a unix socket: a clear message at
# once, not lighttpd's.
long=$TEST_TMP/sock
while [ "${#long}" -lt 110 ]; do long=$long/xxxxxxxxxxxxxxxx; done
fr_start "$deep" "$(serve_free_port)" FILESTOR_SOCK_DIR="$long"
wait "$FR_PID"
rc=$?
check "long socket dir: make run fails" test "$rc" -ne 0
check "long socket dir: the message says why" grep -q 'a unix socket allows 107' "$FR_LOG"
check "long socket dir: nothing was started" eq "$(fr_procs "$rundir")" ""

# --- as root, a checkout the service user cannot enter (a 0700 home):
# the state moves where that user can write it, and make run says where.
state=""
if [ "$(id -u)" -eq 0 ]; then
	home=$TEST_TMP/home
	mkdir -p "$home/co"
	chmod 700 "$home"
	cp -r "$deep/tools" "$deep/spawn-fcgi" "$deep/apache" "$deep/etc" \
	    "$deep/lighttpd.conf" "$home/co/"
	port=$(serve_free_port)
	fr_start "$home/co" "$port"
	if fr_wait; then
		pass "0700 home: make run serves"
		state=$(sed -n 's/^  state    //p' "$FR_LOG")
		check "0700 home: the state is outside the checkout" has "$state" /var/lib/filestor/run-
		check "0700 home: make run says where the state is" grep -q "keeping the state in $state" "$FR_LOG"
		key=$(sed -n 's/^  API key  //p' "$FR_LOG")
		req PUT "http://127.0.0.1:$port/api/storage/home/x.txt" \
		    -H "Authorization: Bearer $key" --data-binary 'home'
		expect_status 201 "0700 home: an upload"
		check "0700 home: Ctrl-C stops everything" eq "$(fr_ctrl_c "$state/run")" 0
		fr_stop_all "$state/run"
	else
		fail "0700 home: make run serves" "$(tail -n 20 "$FR_LOG")"
		fr_stop_all "$home/co/.data/run"
	fi
	case "$state" in /var/lib/filestor/run-*) rm -rf "$state" ;; esac
fi
