# tools/serve.sh: shared by tools/run (make run) and tests/run. Source it,
# then call serve_env, serve_start and serve_stop. bash.
#
# serve_env BUILD STATE_DIR PORT
#	Exports the environment the programs and lighttpd.conf read, with
#	absolute paths under STATE_DIR. Keeps values the caller already set
#	(FILESTOR_DB, FILESTOR_DATA_DIR, ...).
# serve_start
#	Migrates, spawns the workers and starts lighttpd in the background;
#	waits until the port answers. Sets SERVE_LIGHTTPD_PID.
# serve_stop
#	Stops lighttpd and the workers. Safe to call twice.

serve_env() {
	local build=$1 state=$2 port=$3 top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	state=$(mkdir -p "$state" && cd "$state" && pwd)
	build=$(cd "$build" && pwd)
	export FILESTOR_TOP=$top
	export FILESTOR_BUILD=$build
	export FILESTOR_STATE=$state
	export PORT=$port
	export FILESTOR_BIND=${FILESTOR_BIND:-127.0.0.1}
	export FILESTOR_DB=${FILESTOR_DB:-$state/filestor.db}
	export FILESTOR_DATA_DIR=${FILESTOR_DATA_DIR:-$state/files}
	export FILESTOR_CACHE_DIR=${FILESTOR_CACHE_DIR:-$state/cache}
	export FILESTOR_RUN_DIR=${FILESTOR_RUN_DIR:-$state/run}
	export FILESTOR_SOCK_DIR=${FILESTOR_SOCK_DIR:-$FILESTOR_RUN_DIR/sock}
	export FILESTOR_CGI_DIR=${FILESTOR_CGI_DIR:-$build/cgi-bin}
	export FILESTORCTL=$build/filestorctl
	mkdir -p "$FILESTOR_DATA_DIR" "$FILESTOR_CACHE_DIR" \
	    "$FILESTOR_RUN_DIR/www" "$FILESTOR_SOCK_DIR"
}

serve_wait_port() {
	local i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/$FILESTOR_BIND/$PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

serve_start() {
	"$FILESTORCTL" migrate 2>/dev/null || {
		"$FILESTORCTL" migrate
		return 1
	}
	"$FILESTOR_TOP/spawn-fcgi/start" || return 1
	lighttpd -D -f "$FILESTOR_TOP/lighttpd.conf" \
	    2>>"$FILESTOR_RUN_DIR/lighttpd.stderr" &
	SERVE_LIGHTTPD_PID=$!
	if ! serve_wait_port; then
		echo "lighttpd did not start on $FILESTOR_BIND:$PORT:" >&2
		cat "$FILESTOR_RUN_DIR/lighttpd.stderr" \
		    "$FILESTOR_RUN_DIR/lighttpd.error.log" >&2 2>/dev/null
		return 1
	fi
}

serve_stop() {
	if [ -n "${SERVE_LIGHTTPD_PID:-}" ]; then
		kill "$SERVE_LIGHTTPD_PID" 2>/dev/null
		wait "$SERVE_LIGHTTPD_PID" 2>/dev/null
		SERVE_LIGHTTPD_PID=
	fi
	[ -n "${FILESTOR_SOCK_DIR:-}" ] && "$FILESTOR_TOP/spawn-fcgi/stop"
	return 0
}

# A free TCP port on loopback: bash can probe with /dev/tcp.
serve_free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
