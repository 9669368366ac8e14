# The operator's path (issue 22): the docs' commands, run as written.
#
# - Everywhere: every `filestorctl` form in README.md and docs/*.md
#   matches `filestorctl --help` (the two references list exactly its
#   lines), README's quick-start block runs against the test server, a
#   POST without a body behaves as docs/operations.md §2 says, and the
#   package list of docs/operations.md §1 is tools/install-deps's.
# - SERVER=lighttpd: docs/operations.md's production install (§3, then a
#   backup and a restore, §5) in a throwaway root, as root: every block
#   marked "<!-- test: NAME -->" is extracted and run with the real
#   system's paths, users and ports mapped into the sandbox (t12_map), and
#   systemctl, systemd-tmpfiles, useradd, make and curl standing in
#   (t12_systemctl and friends). It ends serving requests over TLS.
# - SERVER=apache: docs/hosting.md's Apache setup against a copy of
#   /etc/apache2 in the throwaway root (APACHE_CONFDIR): a2enmod, the
#   vhost, a2ensite, `apache2ctl configtest`, then its own Apache serving
#   requests over TLS. The system's Apache and /etc/apache2 are never
#   touched.
# Not in the S3 run (tests/all picks t0*): it installs into a sandbox and
# needs no store of its own.

T12_DOCS=$FILESTOR_TOP/docs
T12_README=$FILESTOR_TOP/README.md

# doc_block FILE NAME: the fenced block right after the line
# "<!-- test: NAME -->" in FILE, without the fence's indentation. Fails
# unless there is exactly one such marker followed by a whole block.
doc_block() {
	awk -v name="$2" '
		!inb && $0 ~ "^[[:space:]]*<!-- test: " name " -->[[:space:]]*$" {
			n++; armed = 1; next
		}
		armed && /^[[:space:]]*```/ {
			match($0, /^ */); ind = RLENGTH; inb = 1; armed = 0; next
		}
		armed { exit 1 }
		inb && /^[[:space:]]*```[[:space:]]*$/ { inb = 0; done++; next }
		inb { print substr($0, ind + 1) }
		END { exit !(n == 1 && done == 1) }' "$1"
}
# doc_table FILE NAME: the lines after the marker, up to a blank line.
doc_table() {
	awk -v name="$2" '
		$0 ~ "^<!-- test: " name " -->$" { n++; on = 1; next }
		on && /^[[:space:]]*$/ { on = 0 }
		on { print }
		END { exit !(n == 1) }' "$1"
}

# --- filestorctl --help, and every form in the docs
CTL=$FILESTORCTL
"$CTL" --help >"$TEST_TMP/help" 2>"$TEST_TMP/help.err"
check "filestorctl --help exits 0" eq "$?" 0
check "filestorctl --help: the list on stdout" eq "$(wc -c <"$TEST_TMP/help.err")" 0
"$CTL" >/dev/null 2>&1
check "filestorctl without arguments exits 2" eq "$?" 2
"$CTL" agents list >/dev/null 2>&1
check "an unknown command exits 2" eq "$?" 2
check "filestorctl COMMAND --help: its line" eq "$("$CTL" user create --help)" \
    "usage: filestorctl user create EMAIL --tenant TID --role ROLE [--password-stdin]"
"$CTL" tenant create a b 2>"$TEST_TMP/u.err"
check "wrong arguments: exit 1 with the command's synopsis" eq "$?:$(cat "$TEST_TMP/u.err")" \
    "1:usage: filestorctl tenant create NAME"
sed -n 's/^  \([a-z]\)/filestorctl \1/p' "$TEST_TMP/help" >"$TEST_TMP/forms"
check "--help lists the commands" eq "$(($(wc -l <"$TEST_TMP/forms") > 10))" 1
while IFS= read -r form; do
	# shellcheck disable=SC2086
	set -- $form
	if [ -z "${3:-}" ] || [ "${3#--}" != "$3" ] || [ "${3^^}" = "$3" ]; then
		n="$2"
	else
		n="$2 $3"
	fi
	"$CTL" $n --help >"$TEST_TMP/one" 2>&1
	check "filestorctl $n --help" eq "$(cat "$TEST_TMP/one")" "usage: $form"
done <"$TEST_TMP/forms"
doc_table "$T12_DOCS/operations.md" filestorctl-reference |
    sed -n 's/^| `\(filestorctl [^`]*\)` |.*/\1/p' >"$TEST_TMP/ref-ops"
check "operations.md §9 lists exactly filestorctl --help, in its order" \
    diff "$TEST_TMP/forms" "$TEST_TMP/ref-ops"
doc_block "$T12_README" filestorctl-readme | sed 's/[[:space:]]*#.*//' >"$TEST_TMP/ref-readme"
check "README lists exactly filestorctl --help, in its order" \
    diff "$TEST_TMP/forms" "$TEST_TMP/ref-readme"

# ctl_mentions: every "filestorctl ..." in the docs (continuation lines
# joined), up to a backtick, a pipe, a closing parenthesis or a comment.
ctl_mentions() {
	local f
	for f in "$T12_README" "$T12_DOCS"/*.md; do
		sed ':a;/\\$/{N;s/\\\n[[:space:]]*/ /;ba}' "$f" |
		    grep -o 'filestorctl [^`|)#]*' | sed "s|^|$(basename "$f"): |"
	done
}
# ctl_form_ok MENTION: the command exists; its options are the command's;
# a mention with arguments has the required options and as many
# positional arguments as --help shows. Prints what is wrong.
ctl_form_ok() {
	local m=$1 line spec w tok prev="" npos=0 want=0 opt
	local -a words=()
	# Quoted arguments are one word each, whatever they hold; a synopsis
	# reads like a use of it without its brackets.
	m=$(printf '%s' "$m" | sed -e "s/'[^']*'/Q/g" -e 's/"[^"]*"/Q/g' \
	    -e 's/[][]//g' -e 's/["., ;:]*$//')
	read -r -a words <<<"$m"
	case "${words[1]}" in
	--help) return 0 ;;
	COMMAND) [ "${words[2]}" = --help ] && return 0 ;;
	and | or) return 0 ;;	# prose: "filestorctl and filestor-agent"
	esac
	line=$(grep -E "^filestorctl ${words[1]}( ${words[2]:-}( |$)|$| [A-Z-])" "$TEST_TMP/forms" | head -n1)
	if [ -z "$line" ]; then
		echo "no such command"
		return 1
	fi
	read -r -a spec <<<"$line"
	# The command's words, then its arguments.
	w=2
	[ "${#spec[@]}" -gt 2 ] && [ "${spec[2]}" = "${words[2]:-}" ] && w=3
	for tok in "${spec[@]:$w}"; do
		case "$tok" in
		--*) ;;
		\[*) ;;
		*\]) ;;
		*) case "$prev" in --* | \[--*) ;; *) want=$((want + 1)) ;; esac ;;
		esac
		prev=$tok
	done
	[ "${#words[@]}" -gt "$w" ] || return 0	# just the name, in prose
	prev=""
	for tok in "${words[@]:$w}"; do
		case "$tok" in
		--*)
			if ! grep -qE -- "(^| |\\[)$tok( |\\]|$)" <<<"$line"; then
				echo "$tok is not an option of it"
				return 1
			fi
			;;
		*)
			case "$prev" in
			--*) grep -qE -- "$prev [A-Z]" <<<"$line" || npos=$((npos + 1)) ;;
			*) npos=$((npos + 1)) ;;
			esac
			;;
		esac
		prev=$tok
	done
	for opt in $(sed 's/\[[^]]*\]//g' <<<"$line" | grep -oE -- '--[a-z-]+'); do
		case " ${words[*]} " in *" $opt "*) ;; *) echo "lacks $opt"; return 1 ;; esac
	done
	if [ "$npos" -ne "$want" ]; then
		echo "$npos positional arguments, --help shows $want"
		return 1
	fi
}
ctl_mentions >"$TEST_TMP/mentions"
check "the docs mention filestorctl commands" eq "$(($(wc -l <"$TEST_TMP/mentions") > 40))" 1
bad=""
while IFS= read -r mention; do
	why=$(ctl_form_ok "${mention#*: }") || bad="$bad
    $mention: $why"
done <"$TEST_TMP/mentions"
check "every filestorctl form in the docs matches --help" eq "$bad" ""
# The checker itself: a wrong form is caught.
check "form check: a missing command" neq "$(ctl_form_ok 'filestorctl agents list --tenant T')" ""
check "form check: an unknown option" neq "$(ctl_form_ok 'filestorctl tenant list --tenant T')" ""
check "form check: a missing required option" neq "$(ctl_form_ok 'filestorctl agent token --ttl 60')" ""
check "form check: an extra positional" neq "$(ctl_form_ok 'filestorctl apikey revoke A B')" ""
check "form check: a good one" eq "$(ctl_form_ok "filestorctl permission add r system_files read --tenant \"\$t\" --condition '{\"a b\":1}'")" ""

# --- the package list of operations.md §1 is what install-deps installs
check "operations.md §1: the packages of tools/install-deps run" eq \
    "$(doc_block "$T12_DOCS/operations.md" packages | tr -s ' \n' '\n\n' | sed '/^$/d' | sort | tr '\n' ' ')" \
    "$("$FILESTOR_TOP/tools/install-deps" --list run | sort | tr '\n' ' ')"

# --- a POST without a body (docs/operations.md §2)
req POST /api/auth/logout --data ''
check "POST with --data '': the program answers, not lighttpd's 411" eval \
    '[ "$STATUS" = 204 ] || [ "$(hdr Content-Type)" = application/json ]'
req POST /api/auth/logout
if [ "$SERVER" = lighttpd ]; then
	# lighttpd refuses it (411); its error handler answers the JSON
	# 400 that says what to send (lighttpd.conf, server.error-handler).
	check "bare POST: refused by lighttpd, as a JSON 400 ($STATUS)" eq "$STATUS" 400
	check "bare POST: the message says to send Content-Length" has "$(jqb .error.message)" "Content-Length: 0"
else
	check "bare POST: Apache passes it on" neq "$STATUS" 411
fi

# --- README's quick start, against the test server
QS=$TEST_TMP/qs
mkdir -p "$QS/.data"
QT=$(mk_tenant quick)
QU=$(mk_user "$QT" admin)
printf 'DEMO_TENANT=%s\nDEMO_USER=%s\nDEMO_KEY=%s\n' "$QT" "$QU" "$(mk_key "$QT" "$QU")" >"$QS/.data/demo.env"
head -c 3000 /dev/urandom >"$QS/photo.jpg"
doc_block "$T12_README" quick-start | sed "s#http://127.0.0.1:8080#$BASE#g" >"$QS/run.sh"
check "README quick start: a block" test -s "$QS/run.sh"
(cd "$QS" && bash -e run.sh) >"$QS/out" 2>&1
check "README quick start: runs" eq "$?" 0
check "README quick start: uploaded with its type" eq \
    "$(head -n1 "$QS/out" | jq -r '.key + " " + .contentType' 2>/dev/null)" "photos/photo.jpg image/jpeg"
check "README quick start: downloaded the same bytes" cmp -s "$QS/photo.jpg" "$QS/copy.jpg"
check "README quick start: listed" eq "$(tail -n1 "$QS/out" | jq -r '.items[0].key' 2>/dev/null)" "photos/photo.jpg"

# --- the production install: a sandbox root, its users, its ports
if [ "$(id -u)" -ne 0 ]; then
	echo "  t12-install: the production install needs root; skipped" >&2
	pass "production install: skipped (not root)"
	return 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/filestor-install.XXXXXX")
chmod 755 "$T"
T=$(cd "$T" && pwd -P)
SVC=filestor-test	# stands in for "filestor" (tools/serve.sh makes it too)
WEB=filestor-testweb	# stands in for "www-data"
HPORT=$(serve_free_port)
TPORT=$(serve_free_port)
while [ "$TPORT" = "$HPORT" ]; do TPORT=$(serve_free_port); done
t12_cleanup() {
	local f
	for f in "$T"/*.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
	done
	for f in "$T"/*.pid; do
		[ -f "$f" ] || continue
		for _ in $(seq 1 50); do
			kill -0 "$(cat "$f")" 2>/dev/null || break
			sleep 0.1
		done
	done
	[ -d "$T/run/filestor/sock" ] &&
	    FILESTOR_SOCK_DIR=$T/run/filestor/sock "$FILESTOR_TOP/spawn-fcgi/stop"
	[ -d "$T/sock2" ] && FILESTOR_SOCK_DIR=$T/sock2 "$FILESTOR_TOP/spawn-fcgi/stop"
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "t12-install: kept $T" >&2
	else
		# (A block cut short by ^C may still write there for a moment.)
		rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; }
	fi
}
trap t12_cleanup EXIT
trap 'exit 130' INT TERM

for u in "$SVC" "$WEB"; do
	id -u "$u" >/dev/null 2>&1 ||
	    useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$u"
done
# What a fresh Debian has, and the certificate the docs ask for (a
# self-signed one for files.example.com, which the stand-in curl trusts).
mkdir -p "$T/etc/systemd/system" "$T/etc/tmpfiles.d" "$T/etc/ssl" "$T/run" \
    "$T/var/lib" "$T/var/log" "$T/work"
install -d -m 0700 "$T/etc/ssl/filestor"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=files.example.com \
    -addext subjectAltName=DNS:files.example.com \
    -keyout "$T/etc/ssl/filestor/privkey.pem" -out "$T/etc/ssl/filestor/fullchain.pem" 2>/dev/null
chmod 600 "$T/etc/ssl/filestor/privkey.pem"

# t12_map: the sed script that moves the docs' commands into the sandbox.
t12_map() {
	local d
	for d in /usr/local/ /var/lib/filestor /var/log/filestor /run/filestor \
	    /etc/filestor /etc/ssl/filestor /etc/tmpfiles.d/ /etc/systemd/system/ \
	    /backup/ /etc/apache2/ /srv/filestor; do
		printf 's#%s#%s%s#g\n' "$d" "$T" "$d"
	done
	printf 's#www-data#%s#g\n' "$WEB"
	# The user "filestor" (not a path, a unit or a command name).
	if [ "$SERVER" = lighttpd ]; then
		printf '/^systemctl/!s#\\(^\\|[ =:]\\)filestor\\($\\|[ :]\\)#\\1%s\\2#g\n' "$SVC"
		printf '/^systemctl/!s#\\(^\\|[ =:]\\)filestor\\($\\|[ :]\\)#\\1%s\\2#g\n' "$SVC"
	fi
	printf 's#PORT=8080#PORT=%s#g\n' "$HPORT"
	printf 's#127\\.0\\.0\\.1:8080#127.0.0.1:%s#g\n' "$HPORT"
	printf 's#:443"#:%s"#g\n' "$TPORT"
	printf 's#\\*:443>#*:%s>#g\n' "$TPORT"
	printf 's#\\*:80>#*:%s>#g\n' "$HPORT"
	printf 's#https://files\\.example\\.com/#https://files.example.com:%s/#g\n' "$TPORT"
}
t12_map >"$T/map.sed"

# Stand-ins the block scripts call instead of the real commands.
t12_curl() {
	command curl --max-time 60 --cacert "$T/etc/ssl/filestor/fullchain.pem" \
	    --resolve "files.example.com:$TPORT:127.0.0.1" "$@"
}
t12_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$FILESTOR_TOP" \
	    BUILD="$FILESTOR_BUILD" DESTDIR="$T" "$@"
}
t12_useradd() {	# the test's user may exist from an earlier run
	id -u "${!#}" >/dev/null 2>&1 || command useradd "$@"
}
t12_tmpfiles() {	# the mapped entries name the sandbox's paths already
	command systemd-tmpfiles "$@"
}
t12_wait_port() {	# PORT PID
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
t12_unit_get() { sed -n "s/^$2=//p" "$1" | tail -n1; }
# t12_unit_start UNIT: what systemd would do with the sandbox's unit file.
t12_unit_start() {
	local f=$T/etc/systemd/system/$1 type user envf cmd
	case "$1" in
	apache2.service) t12_apache_start; return ;;
	*.timer)
		[ -f "$f" ] || return 1
		t12_unit_start "${1%.timer}.service"	# as Persistent= would
		return
		;;
	esac
	if [ ! -f "$f" ]; then
		echo "systemctl: $1 is a system unit; not touched" >>"$T/systemctl.log"
		return 0
	fi
	type=$(t12_unit_get "$f" Type)
	user=$(t12_unit_get "$f" User)
	envf=$(t12_unit_get "$f" EnvironmentFile)
	cmd=$(t12_unit_get "$f" ExecStart)
	[ -n "$user" ] && cmd="runuser -u $user -- $cmd"
	if [ "$type" = oneshot ]; then
		( set -a; . "$envf"; set +a; eval "exec $cmd" ) >>"$T/$1.out" 2>&1
		return
	fi
	( set -a; . "$envf"; set +a; eval "exec $cmd" ) >>"$T/$1.out" 2>&1 &
	echo $! >"$T/${1%.service}.pid"
	( set -a; . "$envf"; set +a; t12_wait_port "$PORT" "$(cat "$T/${1%.service}.pid")" )
}
t12_unit_stop() {
	local f=$T/etc/systemd/system/$1 pid envf post
	case "$1" in apache2.service) t12_apache_stop; return ;; esac
	if [ ! -f "$f" ]; then
		echo "systemctl: $1 is a system unit; not touched" >>"$T/systemctl.log"
		return 0
	fi
	[ -f "$T/${1%.service}.pid" ] || return 0
	pid=$(cat "$T/${1%.service}.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$T/${1%.service}.pid"
	envf=$(t12_unit_get "$f" EnvironmentFile)
	post=$(t12_unit_get "$f" ExecStopPost)
	[ -z "$post" ] || ( set -a; . "$envf"; set +a; eval "$post" ) >>"$T/$1.out" 2>&1
}
t12_systemctl() {
	local now=0 verb="" a u
	local -a units=()
	echo "systemctl $*" >>"$T/systemctl.log"
	for a in "$@"; do
		case "$a" in
		--now) now=1 ;;
		-*) ;;
		*) if [ -z "$verb" ]; then verb=$a; else units+=("$a"); fi ;;
		esac
	done
	for u in "${units[@]}"; do
		case "$u" in *.*) ;; *) u=$u.service ;; esac
		case "$verb" in
		enable) [ "$now" = 0 ] || t12_unit_start "$u" || return 1 ;;
		disable) [ "$now" = 0 ] || t12_unit_stop "$u" ;;
		start) t12_unit_start "$u" || return 1 ;;
		stop) t12_unit_stop "$u" ;;
		restart | reload) t12_unit_stop "$u"; t12_unit_start "$u" || return 1 ;;
		esac
	done
	return 0
}
t12_apache_start() {
	( set -a; . "$T/etc/apache2/envvars"; set +a
	  exec /usr/sbin/apache2 -d "$T/etc/apache2" -DFOREGROUND ) >>"$T/apache2.out" 2>&1 &
	echo $! >"$T/apache2.pid"
	t12_wait_port "$TPORT" "$(cat "$T/apache2.pid")"
}
t12_apache_stop() {
	local pid
	[ -f "$T/apache2.pid" ] || return 0
	pid=$(cat "$T/apache2.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$T/apache2.pid"
}
# The stand-ins and the sandbox's settings, for the block scripts.
{
	printf 'T=%q SVC=%q WEB=%q HPORT=%q TPORT=%q\n' "$T" "$SVC" "$WEB" "$HPORT" "$TPORT"
	printf 'FILESTOR_TOP=%q FILESTOR_BUILD=%q\n' "$FILESTOR_TOP" "$FILESTOR_BUILD"
	declare -f t12_curl t12_make t12_useradd t12_tmpfiles t12_wait_port \
	    t12_unit_get t12_unit_start t12_unit_stop t12_systemctl \
	    t12_apache_start t12_apache_stop
	printf 'curl() { t12_curl "$@"; }\nmake() { t12_make "$@"; }\n'
	printf 'useradd() { t12_useradd "$@"; }\nsystemctl() { t12_systemctl "$@"; }\n'
	printf 'systemd-tmpfiles() { t12_tmpfiles "$@"; }\n'
} >"$T/standins.sh"
printf 'export PATH=%q\n' "$T/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" >"$T/session.sh"

# run_block FILE NAME [DIR]: extract the block, map it, refuse it if a
# real system path is left, and run it with bash -e in DIR ($T/work),
# in a clean environment. The blocks run as one shell session would:
# what one exports, the next sees ($T/session.sh). Its output goes to
# $T/NAME.out; the status is the block's.
run_block() {
	local script=$T/$2.sh left
	{
		printf '. %q\n. %q\n' "$T/session.sh" "$T/standins.sh"
		printf 'trap %q EXIT\ntrap "exit 130" INT TERM\nset -e\n' \
		    "export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_)=' >$T/session.sh"
		doc_block "$1" "$2" | sed -f "$T/map.sed" || echo "false # no block $2"
	} >"$script"
	left=$(sed "s#$T#@T@#g" "$script" | grep -nE '(^|[^@A-Za-z0-9_.-])/(usr/local/|var/lib/filestor|var/log/filestor|run/filestor|etc/filestor|etc/ssl/filestor|etc/tmpfiles.d|etc/systemd|etc/apache2|srv/filestor|backup/)')
	if [ -n "$left" ]; then
		echo "run_block $2: a real system path is left: $left" >"$T/$2.out"
		return 99
	fi
	(cd "${3:-$T/work}" && env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
	    APACHE_CONFDIR="${APACHE_CONFDIR:-}" \
	    APACHE_STATE_DIRECTORY="${APACHE_STATE_DIRECTORY:-}" \
	    bash "$script") >"$T/$2.out" 2>&1
}
# block_ok FILE NAME [DIR]: run it, and record whether it succeeded.
block_ok() {
	run_block "$@"
	local rc=$?
	check "$(basename "$1") block \"$2\" runs as written" eq "$rc:$(tail -n 5 "$T/$2.out" | tr '\n' ' ' | head -c 300)" \
	    "0:$(tail -n 5 "$T/$2.out" | tr '\n' ' ' | head -c 300)"
	return $rc
}
OPS=$T12_DOCS/operations.md
HOST=$T12_DOCS/hosting.md
# as the service or web user, with the settings: UNIT-FILE-ENV USER CMD...
as_user() {
	local envf=$1 u=$2
	shift 2
	( set -a; . "$envf"; set +a; PATH=$T/usr/local/bin:$PATH runuser -u "$u" -- "$@" )
}
HC=(--max-time 60 --cacert "$T/etc/ssl/filestor/fullchain.pem" --resolve "files.example.com:$TPORT:127.0.0.1")
HTTPS=https://files.example.com:$TPORT

if [ "$SERVER" = lighttpd ]; then
	# --- docs/operations.md §3, in order
	block_ok "$OPS" install "$FILESTOR_TOP"
	check "installed: the programs" test -x "$T/usr/local/libexec/filestor/get"
	check "installed: the policy" test -f "$T/usr/local/share/filestor/imagemagick/policy.xml"
	block_ok "$OPS" setup
	check "tmpfiles: /run/filestor belongs to the web user" eq "$(stat -c %U:%a "$T/run/filestor")" "$WEB:755"
	check "tmpfiles: the socket dir" eq "$(stat -c %U:%a "$T/run/filestor/sock")" "root:755"
	check "the state dir belongs to the service user" eq "$(stat -c %U:%a "$T/var/lib/filestor")" "$SVC:750"
	check "the web user is in the service user's group" has " $(id -nG "$WEB") " " $SVC "
	block_ok "$OPS" config
	check "the env file is root's, 0600" eq "$(stat -c %U:%a "$T/etc/filestor/filestor.env")" "root:600"
	block_ok "$OPS" unit
	check "systemd-analyze verify: the service" eq \
	    "$(systemd-analyze verify "$T/etc/systemd/system/filestor.service" 2>&1)" ""
	block_ok "$OPS" start
	check "setup: Debian's lighttpd and apache2 services turned off (stand-in)" \
	    grep -q '^systemctl disable --now lighttpd apache2$' "$T/systemctl.log"
	check "start: the database belongs to the service user" eq \
	    "$(stat -c %U "$T/var/lib/filestor/filestor.db")" "$SVC"
	check "start: /api/auth/me answers 401 JSON" eq "$(tail -n1 "$T/start.out" | jq -r .error.code 2>/dev/null)" UNAUTHORIZED
	LPID=$(cat "$T/filestor.pid" 2>/dev/null)
	check "lighttpd runs as the web user" eq "$(ps -o user= -p "$LPID" 2>/dev/null)" "$WEB"
	WPID=$(head -n1 "$T/run/filestor/sock/get.pid.workers" 2>/dev/null)
	check "the programs run as the service user" eq "$(ps -o user:32= -p "$WPID" 2>/dev/null)" "$SVC"
	PPID_=$(cat "$T/run/filestor/sock/get.pid" 2>/dev/null)
	check "their supervisor runs as the service user" eq "$(ps -o user:32= -p "$PPID_" 2>/dev/null)" "$SVC"
	block_ok "$OPS" first-tenant
	check "first upload over TLS: 201 JSON" eq "$(tail -n1 "$T/first-tenant.out" | jq -r .key 2>/dev/null)" hello.txt
	# The key the block made is in its shell only: make one more for the checks.
	TID=$(as_user "$T/etc/filestor/filestor.env" "$SVC" filestorctl tenant list | awk '$2 == "acme" { print $1 }')
	UID2=$(as_user "$T/etc/filestor/filestor.env" "$SVC" filestorctl user create ops@example.com --tenant "$TID" --role admin)
	KEY=$(as_user "$T/etc/filestor/filestor.env" "$SVC" filestorctl apikey create --tenant "$TID" --user "$UID2" 2>/dev/null)
	AK=(-H "Authorization: Bearer $KEY")
	req GET "$HTTPS/api/storage/hello.txt" "${HC[@]}" "${AK[@]}"
	expect_status 200 "download over TLS (X-Sendfile by the web user)"
	check "download: the bytes" eq "$(body)" "hello"
	check "download: X-Sendfile not shown" eq "$(hdr X-Sendfile)" ""
	check "the access log is written by the web user" eq "$(stat -c %U "$T/run/filestor/access.log" 2>/dev/null)" "$WEB"
	check "the workers' log is the service user's" eq "$(stat -c %U "$T/var/log/filestor/workers.log" 2>/dev/null)" "$SVC"
	req GET "http://127.0.0.1:$HPORT/api/storage/hello.txt" "${AK[@]}"
	expect_status 200 "download over plain http on loopback"

	block_ok "$OPS" gc
	for u in filestor-gc.service filestor-gc.timer; do
		check "systemd-analyze verify: $u" eq "$(systemd-analyze verify "$T/etc/systemd/system/$u" 2>&1)" ""
	done
	check "gc ran as the service user (stand-in timer)" has "$(cat "$T/filestor-gc.service.out" 2>/dev/null)" "uploads: stale temporary files 0"
	CRON=$(grep -o '`17 3 \* \* \* [^`]*`' "$OPS" | tr -d '`' | cut -d' ' -f6- | sed -f "$T/map.sed")
	check "the crontab line runs gc" has "$(bash -c "$CRON" 2>&1)" "renditions: kept"

	# --- docs/operations.md §5: a backup, a change, a restore
	block_ok "$OPS" backup
	BKD=$(ls -d "$T"/backup/filestor/2* | tail -n 1)
	check "backup: the database" eq "$(ls "$T"/backup/filestor/*/filestor.db | wc -l)" 1
	check "backup: its manifest" eq "$(jq -r .database.sha256 "$BKD/manifest.json")" \
	    "$(sha256sum <"$BKD/filestor.db" | cut -d' ' -f1)"
	check "backup: the objects" test -f "$BKD/files/tenants/$TID/hello.txt"
	check "backup: AUTH_SECRET (the env file)" cmp -s "$T/etc/filestor/filestor.env" "$BKD/filestor.env"
	req DELETE "$HTTPS/api/storage/hello.txt" "${HC[@]}" "${AK[@]}"
	expect_status 204 "delete after the backup"
	block_ok "$OPS" restore
	check "restore: the database is the service user's again" eq \
	    "$(stat -c %U:%a "$T/var/lib/filestor/filestor.db")" "$SVC:640"
	check "restore: filestorctl verify agrees" has "$(tail -n1 "$T/restore.out")" \
	    "verify: 1 rows, 1 ok; missing 0"
	req GET "$HTTPS/api/storage/hello.txt" "${HC[@]}" "${AK[@]}"
	expect_status 200 "restore: the deleted file is back"
	check "restore: its bytes" eq "$(body)" "hello"
	req PUT "$HTTPS/api/storage/after.txt" "${HC[@]}" "${AK[@]}" --data-binary 'after'
	expect_status 201 "restore: uploads work (the database is writable)"

	# --- the PUBLIC_BASE origin (§3)
	block_ok "$OPS" public-origin
	req GET "http://127.0.0.1:$HPORT/tenants/$TID/hello.txt" -H 'Host: origin.files.example.com'
	expect_status 200 "PUBLIC_BASE origin: /tenants/... served on its host"
	check "PUBLIC_BASE origin: the bytes" eq "$(body)" "hello"
	req GET "http://127.0.0.1:$HPORT/tenants/$TID/hello.txt"
	expect_status 403 "PUBLIC_BASE origin: not on the API's host"

	# --- FILESTOR_LOG the workers' user cannot open (§4)
	OUT=$(env -i PATH="$PATH" FILESTOR_CGI_DIR="$T/usr/local/libexec/filestor" \
	    FILESTOR_SOCK_DIR="$T/sock2" FILESTOR_USER="$SVC" \
	    FILESTOR_LOG="$T/etc/filestor/workers.log" "$T/usr/local/share/filestor/spawn-fcgi/start" 2>&1)
	check "unwritable FILESTOR_LOG: start fails" eq "$?" 1
	check "unwritable FILESTOR_LOG: the message names the path and user" eq "$OUT" \
	    "spawn-fcgi/start: FILESTOR_LOG: cannot open $T/etc/filestor/workers.log for appending as user $SVC"
	check "unwritable FILESTOR_LOG: nothing spawned" eq "$(ls "$T/sock2" | wc -l)" 0

	# --- stop: nothing left
	PIDS=""	# (a pid file may lack its last newline: one file at a time)
	# Each program: its pool (*.pid) and its workers (*.pid.workers).
	for f in "$T"/run/filestor/sock/*.pid "$T"/run/filestor/sock/*.pid.workers; do
		PIDS="$PIDS $(cat "$f")"
	done
	check "stop: the programs were running" eq "$(($(wc -w <<<"$PIDS") >= 30))" 1
	PIDS=$(serve_snap "$LPID $PIDS")
	t12_systemctl stop filestor
	alive=""
	# (A zombie has exited: here pid 1 may be slow to reap the pools,
	# which spawn-fcgi/start leaves to it.)
	# (The pools stop their workers and wait for them: allow a loaded
	# machine ten seconds for the last to go.)
	for _ in $(seq 1 100); do
		alive=""
		for p in $PIDS; do serve_running "$p" && alive="$alive ${p%%:*}"; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	check "systemctl stop: lighttpd and every program gone" eq "$alive" ""
else
	# --- docs/hosting.md's Apache setup, against a copy of /etc/apache2
	cp -a /etc/apache2 "$T/etc/apache2"
	# (mod_fcgid makes its IPC dir itself, for Apache's User.)
	mkdir -p "$T/run/apache2" "$T/lock/apache2" "$T/log/apache2" "$T/var/lib/apache2"
	sed -i -e "s#^export APACHE_RUN_USER=.*#export APACHE_RUN_USER=$WEB#" \
	    -e "s#^export APACHE_RUN_GROUP=.*#export APACHE_RUN_GROUP=$WEB#" \
	    -e "s#^export APACHE_PID_FILE=.*#export APACHE_PID_FILE=$T/run/apache2/apache2.pid#" \
	    -e "s#^export APACHE_RUN_DIR=.*#export APACHE_RUN_DIR=$T/run/apache2#" \
	    -e "s#^export APACHE_LOCK_DIR=.*#export APACHE_LOCK_DIR=$T/lock/apache2#" \
	    -e "s#^export APACHE_LOG_DIR=.*#export APACHE_LOG_DIR=$T/log/apache2#" \
	    "$T/etc/apache2/envvars"
	printf 'Listen 127.0.0.1:%s\n<IfModule ssl_module>\n\tListen 127.0.0.1:%s\n</IfModule>\n' \
	    "$HPORT" "$TPORT" >"$T/etc/apache2/ports.conf"
	printf 'FcgidIPCDir %s\nFcgidProcessTableFile %s\n' "$T/run/apache2/fcgid" \
	    "$T/run/apache2/fcgid_shm" >"$T/etc/apache2/conf-enabled/zz-t12-sandbox.conf"
	export APACHE_CONFDIR=$T/etc/apache2 APACHE_STATE_DIRECTORY=$T/var/lib/apache2
	block_ok "$OPS" install "$FILESTOR_TOP"
	block_ok "$HOST" apache-setup
	check "the data dir belongs to the web user" eq "$(stat -c %U:%a "$T/srv/filestor/files")" "$WEB:750"
	check "the DocumentRoot exists" test -d "$T/srv/filestor/www"
	block_ok "$HOST" apache-envvars
	check "envvars: root's, 0600" eq "$(stat -c %U:%a "$T/etc/apache2/envvars")" "root:600"
	block_ok "$HOST" apache-vhost
	check "a2ensite: the site is enabled" test -L "$T/etc/apache2/sites-enabled/filestor.conf"
	check "a2dissite: the default site is not" test ! -e "$T/etc/apache2/sites-enabled/000-default.conf"
	block_ok "$HOST" apache-start
	check "apache2ctl configtest: Syntax OK" has "$(cat "$T/apache-start.out")" "Syntax OK"
	check "apache-start: /api/auth/me answers 401 JSON" eq "$(tail -n1 "$T/apache-start.out" | jq -r .error.code 2>/dev/null)" UNAUTHORIZED
	check "the database belongs to the web user" eq "$(stat -c %U "$T/srv/filestor/filestor.db")" "$WEB"
	TID=$(as_user "$T/etc/apache2/envvars" "$WEB" filestorctl tenant create acme)
	UID2=$(as_user "$T/etc/apache2/envvars" "$WEB" filestorctl user create ops@example.com --tenant "$TID" --role admin)
	KEY=$(as_user "$T/etc/apache2/envvars" "$WEB" filestorctl apikey create --tenant "$TID" --user "$UID2" 2>/dev/null)
	AK=(-H "Authorization: Bearer $KEY")
	req PUT "$HTTPS/api/storage/hello.txt" "${HC[@]}" "${AK[@]}" -H 'Content-Type: text/plain' --data-binary 'hello'
	expect_status 201 "upload over TLS through the vhost"
	req GET "$HTTPS/api/storage/hello.txt" "${HC[@]}" "${AK[@]}"
	expect_status 200 "download over TLS (mod_xsendfile)"
	check "download: the bytes" eq "$(body)" "hello"
	check "download: X-Sendfile not shown" eq "$(hdr X-Sendfile)" ""
	req GET "$HTTPS/" "${HC[@]}"
	expect_status 200 "/: the web app"
	check "/: its CSP" has "$(hdr Content-Security-Policy)" "default-src 'self'"
	req GET "$HTTPS/notes.txt" "${HC[@]}"
	expect_error 403 FORBIDDEN "outside /api and the app: 403 JSON"
	req GET "http://127.0.0.1:$HPORT/api/auth/me"
	expect_status 301 "plain http: a redirect"
	check "plain http: to the https host" eq "$(hdr Location)" "https://files.example.com:$TPORT/api/auth/me"
	req TRACE "$HTTPS/api/auth/me" "${HC[@]}"
	expect_status 405 "TraceEnable off (server config)"
	t12_apache_stop
	check "the sandbox Apache stopped" test ! -e "$T/apache2.pid"
fi
