# Routing: the web server (lighttpd.conf or apache/filestor.conf; tests/all
# runs this under both) sends every route of common/routes.h to the
# program that serves it, and every program answers 404 and 405 from the
# same table.
#
# A program that gets another program's route answers 404 "no such
# route" (app_dispatch), so a route that reaches the wrong program shows
# here; so does a transform that reaches get (500). Requests go without
# credentials: the right program answers 401 before any handler runs, or
# runs a public handler, which refuses the empty body.

shopt -s extglob
UUID=0b8e1d5e-7c55-4f6e-9a53-1f0c2d3e4f50

# method pattern program, one route a line, in the table's order.
ROUTES=$(sed -nE 's/^[[:space:]]*R\([A-Z_]+,[[:space:]]*"([A-Z]+)",[[:space:]]*"([^"]+)",[[:space:]]*APP_[A-Z]+,[[:space:]]*"([a-z-]+)"\).*/\1 \2 \3/p' common/routes.h)
check "routes.h parsed" test "$(echo "$ROUTES" | wc -l)" -ge 20

# A path the pattern matches: "**" a key, "*" an id.
concrete() {
	local p=${1//\*\*/routes\/k.txt}
	echo "${p//\*/$UUID}"
}

# The bash pattern of a routes.h pattern: "*" is one segment.
glob() {
	local p=${1//\*\*/@ANY@}
	p=${p//\*/*([!\/])}
	echo "${p//@ANY@/*}"
}

# The Allow header the table gives for path (app_dispatch's rule: a
# literal pattern equal to the path shadows the wildcards).
allow_for() {
	local path=$1 literal='' m p prog out='' g
	while read -r m p prog; do
		[ "$p" = "$path" ] && literal=1
	done <<<"$ROUTES"
	while read -r m p prog; do
		if [ -n "$literal" ]; then
			[ "$p" = "$path" ] || continue
		else
			g=$(glob "$p")
			# shellcheck disable=SC2053
			[[ $path == $g ]] || continue
		fi
		[ "$m" = GET ] && m="GET, HEAD"
		case ", $out, " in *", $m, "*) continue ;; esac
		out=${out:+$out, }$m
	done <<<"$ROUTES"
	echo "$out"
}

reached() {
	local what=$1
	check "$what: reached its program ($STATUS)" \
	    test "$STATUS" != 500 -a "$STATUS" != 405
	check "$what: not another program's route" \
	    neq "$(jqb .error.message 2>/dev/null)" "no such route"
}

# --- every route reaches its program, HEAD with GET
while read -r m p prog; do
	path=$(concrete "$p")
	req "$m" "$path" -H 'Content-Length: 0'
	reached "$m $p ($prog)"
	if [ "$m" = GET ]; then
		req HEAD "$path"
		check "HEAD $p ($prog): reached its program ($STATUS)" \
		    test "$STATUS" != 500 -a "$STATUS" != 405 -a "$STATUS" != 404
	fi
done <<<"$ROUTES"

# --- a storage GET with a transform goes to the transform program (get
# refuses one with 500); a lone ?token= goes to get
req GET "$(concrete /api/storage/**)?width=10"
reached "GET with a transform"
req GET "$(concrete /api/storage/**)?token=x"
reached "GET with a lone token"
check "GET with a lone token: 401" eq "$STATUS" 401

# --- the programs decode %2F once, and route on that: so do the servers
for enc in %2F %2f; do
	req POST "/api/storage/routes${enc}sign" -H 'Content-Length: 0'
	reached "POST .../routes${enc}sign"
	check "POST .../routes${enc}sign: sign's 401" eq "$STATUS" 401
done

# --- every other method on each route's path: 405, Allow from the table
for p in $(echo "$ROUTES" | cut -d' ' -f2 | sort -u); do
	path=$(concrete "$p")
	want=$(allow_for "$path")
	for m in GET PUT PATCH DELETE POST; do
		case ", $want, " in *", $m, "*) continue ;; esac
		req "$m" "$path" -H 'Content-Length: 0'
		check "$m $p: 405" eq "$STATUS" 405
		check "$m $p: Allow: $want" eq "$(hdr Allow)" "$want"
	done
done

# --- a path outside the table: 404 from whichever program gets it
for path in /api/nope /api/auth/nope /api/agents/a/b/c /api/folders/a/b \
    /api/file/other; do
	req GET "$path"
	expect_error 404 NOT_FOUND "GET $path: 404"
	check "GET $path: no such route" eq "$(jqb .error.message)" "no such route"
done
