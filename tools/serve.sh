# tools/serve.sh: shared by tools/run (make run) and tests/run. Source it,
# then call serve_env, serve_start and serve_stop. bash.
#
# serve_env BUILD STATE_DIR PORT
#	Exports the environment the programs and lighttpd.conf read, with
#	absolute paths under STATE_DIR. Keeps values the caller already set
#	(FILESTOR_DB, FILESTOR_DATA_DIR, ...). Logs go to FILESTOR_RUN_DIR
#	(STATE_DIR/run). The unix sockets go to a short private runtime
#	directory (serve_runtime_dir), so that a checkout at any depth works.
# serve_start
#	Stops whatever a previous run of this instance left behind
#	(serve_reap), checks that the port is free, migrates and starts the
#	web server in the background; waits until it answers. Sets
#	SERVE_PID (the server's process id). On any failure it stops what it
#	started, says what failed and returns 1.
#	SERVER picks the server (exported by serve_env):
#	  lighttpd (default): spawns the workers (spawn-fcgi/start) and runs
#	    lighttpd.conf; also sets SERVE_LIGHTTPD_PID.
#	  apache: a private Apache (apache2 + mod_fcgid + mod_xsendfile) with
#	    its own ServerRoot in $FILESTOR_RUN_DIR/apache, running
#	    apache/filestor.conf; mod_fcgid starts the programs.
#	Started as root, nothing of the server runs as root: lighttpd, the
#	workers and Apache run as FILESTOR_USER (default filestor, created
#	as a system user when missing), which is given the state, data,
#	cache, run and runtime directories.
# serve_stop
#	Stops the server and the workers. Safe to call twice.

serve_env() {
	local build=$1 state=$2 port=$3 top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	state=$(mkdir -p "$state" && cd "$state" && pwd)
	build=$(cd "$build" && pwd)
	export FILESTOR_TOP=$top
	export SERVER=${SERVER:-lighttpd}
	export FILESTOR_BUILD=$build
	export FILESTOR_STATE=$state
	export PORT=$port
	export FILESTOR_BIND=${FILESTOR_BIND:-127.0.0.1}
	export FILESTOR_DB=${FILESTOR_DB:-$state/filestor.db}
	export FILESTOR_DATA_DIR=${FILESTOR_DATA_DIR:-$state/files}
	export FILESTOR_CACHE_DIR=${FILESTOR_CACHE_DIR:-$state/cache}
	export FILESTOR_RUN_DIR=${FILESTOR_RUN_DIR:-$state/run}
	mkdir -p "$FILESTOR_RUN_DIR" || return 1
	FILESTOR_RUN_DIR=$(cd "$FILESTOR_RUN_DIR" && pwd -P)
	# One instance = one run directory. Every process a start makes
	# inherits this mark, which is how the next start finds what a
	# crashed one left behind (serve_reap).
	FILESTOR_INSTANCE=$(printf '%s' "$FILESTOR_RUN_DIR" | sha256sum | cut -c1-12)
	export FILESTOR_INSTANCE
	if [ "$(id -u)" -eq 0 ]; then
		export FILESTOR_USER=${FILESTOR_USER:-${FILESTOR_APACHE_USER:-filestor}}
		export FILESTOR_SOCK_OWNER=${FILESTOR_SOCK_OWNER:-$FILESTOR_USER}
	fi
	SERVE_RUNTIME=""
	if [ -z "${FILESTOR_SOCK_DIR:-}" ]; then
		SERVE_RUNTIME=$(serve_runtime_dir) || return 1
		export FILESTOR_SOCK_DIR=$SERVE_RUNTIME/sock
	fi
	# The relay's sockets (docs/relay.md) beside the workers'.
	export RELAY_SOCKET=${RELAY_SOCKET:-$FILESTOR_SOCK_DIR/relay.sock}
	export RELAY_AGENT_SOCKET=${RELAY_AGENT_SOCKET:-$FILESTOR_SOCK_DIR/relay-agents.sock}
	export FILESTOR_CGI_DIR=${FILESTOR_CGI_DIR:-$build/cgi-bin}
	# The web app as make builds it (tools/build-www), served at /.
	export FILESTOR_WWW_DIR=${FILESTOR_WWW_DIR:-$build/www}
	export FILESTOR_LOG=${FILESTOR_LOG:-$FILESTOR_RUN_DIR/workers.log}
	export FILESTORCTL=$build/filestorctl
	# get loads Filestor's restrictive ImageMagick policy from here and
	# refuses to start without it (docs/transforms.md).
	export MAGICK_CONFIGURE_PATH=${MAGICK_CONFIGURE_PATH:-$top/etc/imagemagick}
	mkdir -p "$FILESTOR_DATA_DIR" "$FILESTOR_CACHE_DIR" \
	    "$FILESTOR_RUN_DIR/www" "$FILESTOR_SOCK_DIR" || return 1
	serve_check_sock_len || return 1
}

# serve_runtime_dir: prints (and makes, mode 0700) the directory for this
# instance's sockets: /run/filestor-<id> as root, else
# $XDG_RUNTIME_DIR/filestor-<id>, else /tmp/filestor-<uid>-<id>. A unix
# socket path holds at most 107 bytes, which a socket under a deep
# checkout would pass.
serve_runtime_dir() {
	local d me
	me=$(id -u)
	if [ "$me" -eq 0 ]; then
		d=/run/filestor-$FILESTOR_INSTANCE
	elif [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -d "$XDG_RUNTIME_DIR" ] &&
	    [ -w "$XDG_RUNTIME_DIR" ] && [ "${#XDG_RUNTIME_DIR}" -le 40 ]; then
		d=$XDG_RUNTIME_DIR/filestor-$FILESTOR_INSTANCE
	else
		d=/tmp/filestor-$me-$FILESTOR_INSTANCE
	fi
	[ -d "$d" ] || mkdir -m 0700 "$d" 2>/dev/null || [ -d "$d" ] || {
		echo "serve: cannot make the runtime directory $d" >&2
		return 1
	}
	# In /tmp anyone may have made it first: use it only if it is a real
	# directory of ours (or, as root, of the user the server runs as).
	if [ -L "$d" ] || { [ "$(stat -c %u "$d")" != "$me" ] &&
	    [ "$(stat -c %U "$d")" != "${FILESTOR_USER:-}" ]; }; then
		echo "serve: $d is not a directory owned by $(id -un); remove it" >&2
		return 1
	fi
	chmod 0700 "$d" || return 1
	echo "$d"
}

# A unix socket path longer than 107 bytes cannot be bound; say so now,
# by name, rather than let lighttpd or spawn-fcgi fail later.
serve_check_sock_len() {
	local p=$FILESTOR_SOCK_DIR/relay-agents.sock
	if [ "${#p}" -gt 107 ]; then
		echo "serve: the socket path $p is ${#p} bytes; a unix socket" \
		    "allows 107. Set FILESTOR_SOCK_DIR to a shorter directory." >&2
		return 1
	fi
}

# serve_reap: stop every process a previous start of this instance left
# running (a kill -9 of make run, a crash, a closed terminal): lighttpd,
# the workers (spawn-fcgi makes them session leaders, so they outlive
# their terminal), Apache and its programs, an old watchdog. They carry
# FILESTOR_INSTANCE in their environment; our own ancestors do too and
# are spared.
serve_reap() {
	local pids
	pids=$(serve_kill_env "^FILESTOR_INSTANCE=$FILESTOR_INSTANCE\$")
	[ -n "$pids" ] &&
	    echo "serve: stopped what a previous run left behind:$pids" >&2
	rm -f "$FILESTOR_SOCK_DIR"/*.pid "$FILESTOR_SOCK_DIR"/*.sock
	return 0
}

# serve_running PID: the process exists and has not exited (a zombie
# has: in a container pid 1 may be slow to reap an orphan).
# serve_running PID, or PID:START from serve_snap: the process runs (a
# zombie has exited), and with :START it is still the one listed (pid_max
# is 32768 here, and a loaded machine reuses a pid within seconds).
serve_running() {
	local p=${1%%:*}
	kill -0 "$p" 2>/dev/null &&
	    [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ] || return 1
	case "$1" in *:*) [ "$(serve_start_time "$p")" = "${1#*:}" ] ;; esac
}
# serve_start_time PID: its start time (/proc/PID/stat field 22).
serve_start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
# serve_snap PIDS: each as PID:START, for serve_running.
serve_snap() {
	local p
	for p in $1; do echo "$p:$(serve_start_time "$p")"; done | tr '\n' ' '
}

# serve_kill_env ERE: stop (SIGTERM, SIGKILL after 5 s) every process with
# an environment line matching ERE, but the caller and its ancestors, who
# carry the same environment. Prints the pids it signalled.
serve_kill_env() {
	local q anc=" " pids="" p f i alive
	q=$BASHPID
	while [ -n "$q" ] && [ "$q" -gt 1 ]; do
		anc="$anc$q "
		q=$(awk '/^PPid:/ { print $2 }' "/proc/$q/status" 2>/dev/null)
	done
	for f in $(grep -lzE -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/environ}
		case "$anc" in *" $p "*) continue ;; esac
		pids="$pids $p"
	done
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null
	for i in $(seq 1 50); do
		alive=""
		for p in $pids; do
			serve_running "$p" && alive="$alive $p"
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	[ -n "$alive" ] && kill -9 $alive 2>/dev/null
	echo "$pids"
}

# serve_check_port: the port must be free before anything is started.
serve_check_port() {
	local who
	if (exec 3<>"/dev/tcp/$FILESTOR_BIND/$PORT") 2>/dev/null; then
		who=$(ss -Hltnp "sport = :$PORT" 2>/dev/null |
		    grep -o 'users:(("[^"]*"' | head -n1 | cut -d'"' -f2)
		echo "serve: port $PORT on $FILESTOR_BIND is already in use${who:+ (by $who)};" \
		    "stop that or choose another with PORT=" >&2
		return 1
	fi
}

# serve_user_ensure USER: make the system user when it does not exist.
# make test starts its passes at once, so on a fresh machine several may
# try: useradd fails for all but one of them, and the user then exists.
serve_user_ensure() {
	id -u "$1" >/dev/null 2>&1 && return 0
	useradd --system --user-group --no-create-home \
	    --home-dir /nonexistent --shell /usr/sbin/nologin "$1" 2>/dev/null ||
	    id -u "$1" >/dev/null 2>&1 || {
		echo "serve: cannot create the system user $1" >&2
		return 1
	}
}

# serve_as_user USER CMD...: run CMD as USER (its groups too).
serve_as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

# serve_prepare_user: as root, before starting: the user exists, can run
# the programs (staged copies when the checkout is out of its reach) and
# owns the state, data, cache, run and runtime directories.
serve_prepare_user() {
	local u=$FILESTOR_USER d
	serve_user_ensure "$u" || return 1
	serve_stage "$FILESTOR_RUN_DIR/stage" "$u" || return 1
	for d in "$FILESTOR_STATE" "$FILESTOR_RUN_DIR" "$FILESTOR_DATA_DIR" \
	    "$FILESTOR_CACHE_DIR" "$FILESTOR_SOCK_DIR" \
	    ${SERVE_RUNTIME:+"$SERVE_RUNTIME"}; do
		find "$d" ! -user "$u" -exec chown -h "$u:" {} + || return 1
	done
	# A PostgreSQL URI is no file: the server's roles guard it.
	local dbf=$FILESTOR_DB
	case $dbf in postgres://* | postgresql://*) dbf=$FILESTOR_DATA_DIR ;; esac
	for d in "$dbf" "$dbf-wal" "$dbf-shm" \
	    "$(dirname "$dbf")" "$FILESTOR_LOG"; do
		[ ! -e "$d" ] || chown "$u:" "$d" || return 1
	done
	# The programs must write the database (and its -wal and -shm
	# beside it), the data and the cache.
	for d in "$dbf" "$(dirname "$dbf")" \
	    "$FILESTOR_DATA_DIR" "$FILESTOR_CACHE_DIR"; do
		if ! serve_as_user "$u" test -w "$d"; then
			echo "serve: $u cannot write $d (check the" \
			    "permissions of its parent directories)" >&2
			return 1
		fi
	done
}

# serve_wait_port PID: until PID itself listens on the port, while it
# lives. The port answering is not enough: a server whose bind failed
# lives on for a moment (Apache for a while, reading its config), and if
# the port went to another listener between serve_free_port and the
# bind (another suite's server, this suite's own earlier one), the
# caller would talk to that one, with other settings, and take it for
# the server it started (the Apache "200 under TRANSFORM_TIMEOUT_MS=100"
# of t05). Without ss, the answering port has to do.
serve_wait_port() {
	local i
	for i in $(seq 1 300); do
		kill -0 "$1" 2>/dev/null || return 1
		if command -v ss >/dev/null 2>&1; then
			ss -Hltnp "sport = :$PORT" 2>/dev/null |
			    grep -q "pid=$1," && return 0
		elif (exec 3<>"/dev/tcp/$FILESTOR_BIND/$PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

serve_start() {
	case "$SERVER" in
	lighttpd|apache) ;;
	*) echo "serve: unknown SERVER '$SERVER' (lighttpd or apache)" >&2
	   return 1 ;;
	esac
	# Whatever a caller's shell knows of another server (a test's
	# second server starts in a subshell of the first's runner) is not
	# ours to stop if this start fails.
	SERVE_PID=
	SERVE_LIGHTTPD_PID=
	serve_reap
	serve_check_port || return 1
	"$FILESTORCTL" migrate 2>/dev/null || {
		"$FILESTORCTL" migrate
		return 1
	}
	if [ "$(id -u)" -eq 0 ]; then
		serve_prepare_user || return 1
	fi
	serve_start_relay || return 1
	if [ "$SERVER" = apache ]; then
		serve_start_apache
		return
	fi
	# The relay is ours (serve_start_relay, for Apache too), not the
	# start script's.
	if ! FILESTOR_RELAY=none "$FILESTOR_TOP/spawn-fcgi/start"; then
		echo "serve: the workers did not start (log: $FILESTOR_LOG)" >&2
		serve_stop
		return 1
	fi
	: >"$FILESTOR_RUN_DIR/lighttpd.stderr"
	FILESTOR_LIGHTTPD_USER=${FILESTOR_USER:-} \
	    lighttpd -D -f "$FILESTOR_TOP/lighttpd.conf" \
	    2>>"$FILESTOR_RUN_DIR/lighttpd.stderr" &
	SERVE_LIGHTTPD_PID=$!
	SERVE_PID=$SERVE_LIGHTTPD_PID
	if ! serve_wait_port "$SERVE_PID"; then
		echo "serve: lighttpd did not start on $FILESTOR_BIND:$PORT:" >&2
		cat "$FILESTOR_RUN_DIR/lighttpd.stderr" >&2 2>/dev/null
		tail -n 5 "$FILESTOR_RUN_DIR/lighttpd.error.log" >&2 2>/dev/null
		serve_stop
		return 1
	fi
}

# serve_start_relay: filestor-relay (docs/relay.md) in the background,
# as FILESTOR_USER when root; waits for its sockets. Sets SERVE_RELAY_PID.
serve_start_relay() {
	local i log=$FILESTOR_RUN_DIR/relay.log
	local -a asuser=()
	SERVE_RELAY_PID=
	rm -f "$RELAY_SOCKET" "$RELAY_AGENT_SOCKET"
	: >>"$log"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$FILESTOR_USER:" "$log" || return 1
		asuser=(setpriv --reuid="$FILESTOR_USER" --regid="$FILESTOR_USER" --init-groups --)
	fi
	"${asuser[@]}" "$FILESTOR_BUILD/filestor-relay" 2>>"$log" &
	SERVE_RELAY_PID=$!
	for i in $(seq 1 100); do
		[ -S "$RELAY_SOCKET" ] && [ -S "$RELAY_AGENT_SOCKET" ] && return 0
		serve_running "$SERVE_RELAY_PID" || break
		sleep 0.05
	done
	echo "serve: filestor-relay did not start:" >&2
	tail -n 5 "$log" >&2
	serve_stop_relay
	return 1
}

serve_stop_relay() {
	if [ -n "${SERVE_RELAY_PID:-}" ]; then
		kill "$SERVE_RELAY_PID" 2>/dev/null
		wait "$SERVE_RELAY_PID" 2>/dev/null
		SERVE_RELAY_PID=
	fi
}

serve_stop() {
	serve_stop_relay
	if [ "${SERVER:-lighttpd}" = apache ]; then
		if [ -n "${SERVE_PID:-}" ]; then
			kill "$SERVE_PID" 2>/dev/null
			wait "$SERVE_PID" 2>/dev/null
			SERVE_PID=
		fi
		serve_rm_runtime
		return 0
	fi
	if [ -n "${SERVE_LIGHTTPD_PID:-}" ]; then
		kill "$SERVE_LIGHTTPD_PID" 2>/dev/null
		wait "$SERVE_LIGHTTPD_PID" 2>/dev/null
		SERVE_LIGHTTPD_PID=
	fi
	SERVE_PID=
	[ -n "${FILESTOR_SOCK_DIR:-}" ] && "$FILESTOR_TOP/spawn-fcgi/stop"
	serve_rm_runtime
	return 0
}

# The runtime directory serve_env made (never one the caller named).
serve_rm_runtime() {
	case "${SERVE_RUNTIME:-}" in
	*/filestor-*) rm -rf "$SERVE_RUNTIME" ;;
	esac
}

# --- Apache (SERVER=apache)

SERVE_APACHE_MODULES=/usr/lib/apache2/modules

# FcgidInitialEnv for the rest of the environment: spawn-fcgi hands the
# programs everything we have, mod_fcgid only what it is told, and at most
# 64 variables: so only the settings the programs read (the names of
# filestor.conf's FcgidInitialEnv lines, commented or not, which
# tests/unit/test_cfg.c holds to the settings table of common/cfg.c), the
# test shims' variables, and FILESTOR_INSTANCE, which serve_reap finds
# them by. The variables
# apache/filestor.conf passes itself are left out, unless too long:
# mod_fcgid cuts every value at 127 bytes, so a longer path (a deep
# checkout) is passed as a symlink to it in SERVE_ENVLINK. A later
# FcgidInitialEnv of the same name wins; XSendFilePath keeps the real
# path, which is what get sends (it resolves the data dir).
serve_apache_env() {
	local name val skip settings conf=$FILESTOR_TOP/apache/filestor.conf
	skip=" $(sed -n 's/^FcgidInitialEnv[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' \
	    "$conf" | tr '\n' ' ') "
	settings=" $(sed -n 's/^#\{0,1\}FcgidInitialEnv[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' \
	    "$conf" | tr '\n' ' ') "
	for name in $(compgen -e); do
		case "$settings" in
		*" $name "*) ;;
		*) case "$name" in
		   FILESTOR_*|LD_PRELOAD|TZ|LANG) ;;
		   *) continue ;;
		   esac ;;
		esac
		val=${!name}
		# A value Apache would reinterpret is not passed.
		case "$val" in *[\"\\\$]*|*$'\n'*) continue ;; esac
		if [ "${#val}" -gt 127 ]; then
			if [ -e "$val" ] && ln -sfn "$val" "$SERVE_ENVLINK/$name"; then
				val=$SERVE_ENVLINK/$name
			else
				echo "serve: $name is over the 127 bytes mod_fcgid" \
				    "passes; the programs will not see it" >&2
				continue
			fi
		else
			case "$skip" in *" $name "*) continue ;; esac
		fi
		printf 'FcgidInitialEnv %s "%s"\n' "$name" "$val"
	done
}

serve_apache_conf() {
	local root=$1 m
	cat <<EOT
# Generated by tools/serve.sh for one private Apache; do not edit.
ServerRoot "$root"
DefaultRuntimeDir "$root"
PidFile "$root/httpd.pid"
Mutex "file:$root" default
ErrorLog "$(serve_log)"
# fcgid:info logs every program exit (tests/run checks none died).
LogLevel warn fcgid:info
Listen $FILESTOR_BIND:$PORT
ServerName $FILESTOR_BIND
ServerTokens Prod
ServerSignature Off
TraceEnable off
EOT
	for m in mpm_event authz_core rewrite headers mime fcgid xsendfile \
	    proxy proxy_http proxy_wstunnel; do
		echo "LoadModule ${m}_module $SERVE_APACHE_MODULES/mod_$m.so"
	done
	cat <<EOT
# mod_mime for the web app's types: filestor.conf names them (AddType).
TypesConfig /dev/null
StartServers 1
ServerLimit 2
ThreadsPerChild 32
MinSpareThreads 8
MaxSpareThreads 64
MaxRequestWorkers 64
FcgidIPCDir "$SERVE_FCGID_DIR"
FcgidProcessTableFile "$root/fcgid_shm"
# No idle or lifetime kills: a program exit in the log means it died.
FcgidIdleTimeout 0
FcgidIdleScanInterval 0
FcgidProcessLifeTime 0
FcgidSpawnScoreUpLimit 64
DocumentRoot "$FILESTOR_RUN_DIR/www"
<Directory />
	Require all denied
</Directory>
Include "${FILESTOR_APACHE_CONF:-$FILESTOR_TOP/apache/filestor.conf}"
Include "$root/env.conf"
EOT
}

# The server's error log. Under Apache it also holds the programs'
# stderr (mod_fcgid sends it there), so it is FILESTOR_LOG when set.
serve_log() {
	if [ "${SERVER:-lighttpd}" = apache ]; then
		echo "${FILESTOR_LOG:-$FILESTOR_RUN_DIR/apache.error.log}"
	else
		echo "$FILESTOR_RUN_DIR/lighttpd.error.log"
	fi
}

# serve_stage DIR USER: a checkout under a directory USER cannot enter (a
# 0700 home or mktemp dir, as CI uses) would keep Apache from reading
# filestor.conf and USER from running the programs. Then copy what they
# need into DIR (which USER will own) and point the settings at the
# copies.
serve_stage() {
	local st=$1 u=$2
	if serve_as_user "$u" test -r "$FILESTOR_TOP/apache/filestor.conf" -a \
	    -x "$FILESTOR_CGI_DIR/auth" -a -r "$FILESTOR_WWW_DIR/index.html" -a \
	    -r "$MAGICK_CONFIGURE_PATH/policy.xml" 2>/dev/null; then
		return 0
	fi
	rm -rf "$st"
	mkdir -p "$st/apache" "$st/cgi-bin" "$st/imagemagick" || return 1
	cp "$FILESTOR_TOP/apache/filestor.conf" "$st/apache/" || return 1
	cp "$FILESTOR_CGI_DIR"/* "$st/cgi-bin/" || return 1
	rm -f "$st/cgi-bin"/*.o
	cp "$MAGICK_CONFIGURE_PATH/"* "$st/imagemagick/" || return 1
	cp -R "$FILESTOR_WWW_DIR" "$st/www" || return 1
	export FILESTOR_WWW_DIR=$st/www
	export FILESTOR_APACHE_CONF=$st/apache/filestor.conf
	export FILESTOR_CGI_DIR=$st/cgi-bin
	export MAGICK_CONFIGURE_PATH=$st/imagemagick
	# A test shim preloaded from the build tree (tests/enospc.so).
	case "${LD_PRELOAD:-}" in
	"$FILESTOR_BUILD"/*)
		cp "$LD_PRELOAD" "$st/" || return 1
		export LD_PRELOAD="$st/$(basename "$LD_PRELOAD")"
		;;
	esac
}

serve_start_apache() {
	local root=$FILESTOR_RUN_DIR/apache u=""
	local -a asuser=()

	# mod_fcgid's sockets: beside the workers' in the short runtime
	# directory, for the same 107-byte reason.
	SERVE_FCGID_DIR=$(dirname "$FILESTOR_SOCK_DIR")/fcgid
	SERVE_ENVLINK=$(dirname "$FILESTOR_SOCK_DIR")/env
	mkdir -p "$SERVE_FCGID_DIR" "$SERVE_ENVLINK" "$root/tmp"
	rm -f "$root/httpd.pid"
	(umask 077 && serve_apache_env >"$root/env.conf") || return 1
	serve_apache_conf "$root" >"$root/httpd.conf" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		u=$FILESTOR_USER
		chown -R "$u:" "$root" "$SERVE_FCGID_DIR" "$SERVE_ENVLINK" || return 1
		[ ! -e "$(serve_log)" ] || chown "$u:" "$(serve_log)" || return 1
		asuser=(setpriv --reuid="$u" --regid="$u" --init-groups --)
	fi
	# Every variable filestor.conf names must be defined, or Apache
	# leaves "\${NAME}" in; empty means the programs' default. TMPDIR:
	# where mod_fcgid buffers request bodies (tests look there).
	"${asuser[@]}" env TMPDIR="$root/tmp" \
	    AUTH_SECRET="${AUTH_SECRET:-}" \
	    FILESTOR_SENDFILE="${FILESTOR_SENDFILE:-}" \
	    COOKIE_SECURE="${COOKIE_SECURE:-}" \
	    PUBLIC_BASE="${PUBLIC_BASE:-}" \
	    MAGICK_CONFIGURE_PATH="${MAGICK_CONFIGURE_PATH:-}" \
	    MAX_UPLOAD_BYTES="${MAX_UPLOAD_BYTES:-5368709120}" \
	    /usr/sbin/apache2 -DFOREGROUND -d "$root" -f "$root/httpd.conf" \
	    2>>"$FILESTOR_RUN_DIR/apache.stderr" &
	SERVE_PID=$!
	if ! serve_wait_port "$SERVE_PID"; then
		echo "serve: apache did not start on $FILESTOR_BIND:$PORT:" >&2
		cat "$FILESTOR_RUN_DIR/apache.stderr" "$(serve_log)" >&2 2>/dev/null
		serve_stop
		return 1
	fi
}

# A free TCP port on loopback: bash can probe with /dev/tcp. Chosen below
# the kernel's ephemeral range: a port in it can be taken, between the
# probe and the bind, as the local end of any outgoing connection (and
# is then refused to a listener), which made the suites flaky.
serve_free_port() {
	local p i lo=32768 span
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	span=$((lo - 10000))
	[ "$span" -ge 2000 ] || span=20000
	for i in $(seq 1 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# serve_watchdog OWNER_PID: from its own session, wait until OWNER_PID is
# gone, then stop the server and the workers. spawn-fcgi/start daemonizes
# the pools, so a Ctrl-C that kills make and the runner before their
# traps finish would otherwise leave them behind. It stops them by their
# FILESTOR_INSTANCE mark (serve_reap), never by a pid remembered from
# the start, which another program may own by then.
serve_watchdog() {
	setsid bash -c "$(declare -f serve_reap serve_kill_env serve_running \
	    serve_rm_runtime)"'
		while kill -0 "$0" 2>/dev/null; do sleep 1; done
		serve_reap
		"$1/spawn-fcgi/stop"
		SERVE_RUNTIME=$2 serve_rm_runtime
	' "$1" "$FILESTOR_TOP" "${SERVE_RUNTIME:-}" </dev/null >/dev/null 2>&1 &
}
