# tests/pg.sh: a private PostgreSQL for the tests and benchmarks (issue
# 18): Debian's server (the newest under /usr/lib/postgresql), a cluster
# of its own in a directory of the caller's, on a unix socket only. It
# never touches the system's cluster. Source it; bash.
#
# pg_start DIR [PORT]
#	Makes the cluster in DIR/data (initdb, once: trust, UTF8, C
#	locale), starts it listening on DIR/.s.PGSQL.PORT only (no TCP),
#	makes the database filestor, and exports FILESTOR_PG_URI. PORT only
#	names the socket; a free one by default. As root the server runs as
#	PG_TEST_OSUSER (postgres, which Debian's package makes), who gets
#	DIR. Sets PG_TEST_DIR, PG_TEST_PORT. Settings for tests, not for
#	keeping data: fsync and synchronous_commit off.
# pg_stop
#	Stops it (fast shutdown, then SIGKILL). Safe to call twice.
# pg_restart
#	pg_stop, then starts the same cluster again on the same socket: the
#	database survives, its connections do not.
# pg_psql ARGS...
#	psql into the database filestor (-X, ON_ERROR_STOP).

PG_TEST_DB=filestor
# The cluster's superuser, the role FILESTOR_PG_URI names.
PG_TEST_ROLE=filestor
# Room for two front ends' workers, filestorctl and the tests' psql.
PG_TEST_MAX_CONN=200

# pg_bindir: the newest installed server's bin directory.
pg_bindir() {
	local d
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
	if [ -z "$d" ] || [ ! -x "$d/initdb" ] || [ ! -x "$d/pg_ctl" ]; then
		echo "pg: no PostgreSQL server under /usr/lib/postgresql" \
		    "(tools/install-deps test)" >&2
		return 1
	fi
	echo "$d"
}

# pg_as CMD...: CMD as the cluster's owner, in DIR (its cwd must be
# readable there).
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$PG_TEST_DIR" && setpriv --reuid="$PG_TEST_OSUSER" \
		    --regid="$PG_TEST_OSUSER" --init-groups -- "$@")
	else
		(cd "$PG_TEST_DIR" && "$@")
	fi
}

# pg_uri_enc STRING: STRING percent-encoded for a URI's query.
pg_uri_enc() {
	local s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		[A-Za-z0-9/._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	echo "$out"
}

pg_start() {
	local dir=$1 port=${2:-} bin
	bin=$(pg_bindir) || return 1
	mkdir -p "$dir" || return 1
	PG_TEST_DIR=$(cd "$dir" && pwd) || return 1
	if [ -z "$port" ]; then
		if declare -F serve_free_port >/dev/null; then
			port=$(serve_free_port) || return 1
		else
			port=$((20000 + RANDOM % 30000))
		fi
	fi
	PG_TEST_PORT=$port
	PG_TEST_BIN=$bin
	# sun_path holds 107 bytes and a NUL.
	if [ $(( ${#PG_TEST_DIR} + ${#port} + 10 )) -gt 107 ]; then
		echo "pg: $PG_TEST_DIR is too long a path for a unix socket" >&2
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		PG_TEST_OSUSER=${PG_TEST_OSUSER:-postgres}
		id -u "$PG_TEST_OSUSER" >/dev/null 2>&1 || {
			echo "pg: no user $PG_TEST_OSUSER (Debian's postgresql" \
			    "package makes it; or set PG_TEST_OSUSER)" >&2
			return 1
		}
		chown "$PG_TEST_OSUSER:" "$PG_TEST_DIR" || return 1
		if ! setpriv --reuid="$PG_TEST_OSUSER" --regid="$PG_TEST_OSUSER" \
		    --init-groups -- test -w "$PG_TEST_DIR"; then
			echo "pg: $PG_TEST_OSUSER cannot reach $PG_TEST_DIR (check" \
			    "the permissions of its parent directories)" >&2
			return 1
		fi
	else
		PG_TEST_OSUSER=$(id -un)
	fi
	# Others reach the socket (the workers run as FILESTOR_USER).
	chmod 0755 "$PG_TEST_DIR" || return 1
	if [ ! -s "$PG_TEST_DIR/data/PG_VERSION" ]; then
		pg_as "$bin/initdb" -D "$PG_TEST_DIR/data" -U "$PG_TEST_ROLE" \
		    -A trust -E UTF8 --no-locale --no-sync \
		    >"$PG_TEST_DIR/initdb.log" 2>&1 || {
			echo "pg: initdb failed:" >&2
			cat "$PG_TEST_DIR/initdb.log" >&2
			return 1
		}
		# The last setting read wins: these override initdb's.
		cat >>"$PG_TEST_DIR/data/postgresql.conf" <<EOF || return 1

# tests/pg.sh
listen_addresses = ''
unix_socket_directories = '$PG_TEST_DIR'
port = $PG_TEST_PORT
max_connections = $PG_TEST_MAX_CONN
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	fi
	pg_run_start || return 1
	if [ "$(pg_psql -d postgres -tAc \
	    "SELECT count(*) FROM pg_database WHERE datname = '$PG_TEST_DB'")" != 1 ]; then
		pg_psql -d postgres -qc "CREATE DATABASE $PG_TEST_DB" || {
			pg_stop
			return 1
		}
	fi
	FILESTOR_PG_URI="postgresql:///$PG_TEST_DB?host=$(pg_uri_enc "$PG_TEST_DIR")&port=$PG_TEST_PORT&user=$PG_TEST_ROLE"
	export PG_TEST_DIR PG_TEST_PORT FILESTOR_PG_URI
}

# pg_run_start: pg_ctl start of the cluster pg_start set up.
pg_run_start() {
	: >"$PG_TEST_DIR/log" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_TEST_OSUSER:" "$PG_TEST_DIR/log" || return 1
	fi
	if ! pg_as "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" \
	    -l "$PG_TEST_DIR/log" -w -t 60 start >/dev/null 2>&1; then
		echo "pg: the server did not start:" >&2
		cat "$PG_TEST_DIR/log" >&2
		pg_kill
		return 1
	fi
	PG_TEST_PID=$(head -n1 "$PG_TEST_DIR/data/postmaster.pid" 2>/dev/null)
}

pg_stop() {
	[ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ] || return 0
	[ -e "$PG_TEST_DIR/data/postmaster.pid" ] || { PG_TEST_PID=""; return 0; }
	pg_as "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w -t 30 \
	    stop >/dev/null 2>&1 || pg_kill
	PG_TEST_PID=""
}

# pg_kill: SIGKILL to the postmaster and its children (the server
# processes of this cluster), when the pid file names a postgres.
pg_kill() {
	local pid=${PG_TEST_PID:-} kids i
	[ -n "$pid" ] || pid=$(head -n1 "$PG_TEST_DIR/data/postmaster.pid" 2>/dev/null)
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	[ "$(ps -o comm= -p "$pid" 2>/dev/null)" = postgres ] || return 0
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	# shellcheck disable=SC2086
	kill -KILL "$pid" $kids 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$PG_TEST_DIR/data/postmaster.pid"
}

pg_restart() {
	[ -n "${PG_TEST_DIR:-}" ] || { echo "pg: not started" >&2; return 1; }
	pg_stop
	pg_run_start
}

pg_psql() {
	"$PG_TEST_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$PG_TEST_DIR" \
	    -p "$PG_TEST_PORT" -U "$PG_TEST_ROLE" -d "$PG_TEST_DB" "$@"
}
