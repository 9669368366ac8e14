#!/usr/bin/env bash
# tests/openapi-lint.sh [BUILD]: docs/openapi.yaml against redocly's
# recommended rules (redocly.yaml; the problems kept on purpose, each with
# its reason, are in .redocly.lint-ignore.yaml). Any error or warning
# fails. @redocly/cli comes from tests/npm/install (the lockfile's exact
# version, with npm ci into BUILD/npm). Prints PASS/FAIL lines, like
# tests/deps-order.sh; redocly's own output (and the deprecation banner
# it prints on Node 20) is shown only when something failed.
set -uo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
case "$build" in /*) ;; *) build=$top/$build ;; esac
dir=$build/npm
bin=$dir/node_modules/.bin/redocly
# No usage reports, update notices or announcements from the CLI.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    REDOCLY_SUPPRESS_NOTIFICATIONS=true NO_COLOR=1

out=$(tests/npm/install "$build") || { echo "$out"; exit 1; }
want=$(jq -r '.packages["node_modules/@redocly/cli"].version' tests/npm/package-lock.json)
json=$("$bin" lint --format=json 2>/dev/null)
rc=$?
totals=$(printf '%s\n' "$json" | jq -r '"\(.totals.errors) \(.totals.warnings) \(.totals.ignored) \(.version)"' 2>/dev/null)
read -r errors warnings ignored version <<<"${totals:-x x x x}"
if [ "$rc" -eq 0 ] && [ "$errors" = 0 ] && [ "$warnings" = 0 ] &&
    [ "$version" = "$want" ]; then
	echo "PASS openapi: docs/openapi.yaml passes redocly lint $version (recommended rules; $ignored problems ignored with reasons)"
else
	echo "FAIL openapi: redocly lint ${version:-?} (want $want): exit $rc, $errors errors, $warnings warnings"
	# The readable report, without the Node 20 banner.
	"$bin" lint 2>&1 | grep -v '[║╔╚]' | grep -v '^$' | head -n 80 >&2
fi
