#!/usr/bin/env bash
# tests/deps-order.sh: the first make on a machine without the -dev
# packages must install them before it asks pkg-config for their flags.
# A stand-in pkg-config answers "not installed" until a stand-in
# install-deps has run; a compile of a MagickWand and a cJSON user then
# succeeds only if make asked pkg-config after the install, as the real
# first `make run` on a fresh machine needs. Prints PASS/FAIL lines.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/filestor-deps.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
real=$(command -v pkg-config) || { echo "FAIL deps-order: no pkg-config"; exit 1; }
cat >"$tmp/bin/pkg-config" <<EOT
#!/bin/sh
echo "\$*" >>"$tmp/asked"
[ -e "$tmp/installed" ] || exit 1
exec "$real" "\$@"
EOT
cat >"$tmp/install-deps" <<EOT
#!/bin/sh
[ -e "$tmp/asked" ] && cp "$tmp/asked" "$tmp/asked-before-install"
touch "$tmp/installed"
EOT
chmod +x "$tmp/bin/pkg-config" "$tmp/install-deps"

# Not CI's -Werror: at -O0 (for speed) gcc's format-truncation analysis
# warns where -O2's does not; this check is about the order of the steps.
unset MAKEFLAGS MFLAGS MAKELEVEL CI
out=$(PATH="$tmp/bin:$PATH" make -C "$top" --no-print-directory -j2 \
    BUILD="$tmp/build" OPT=-O0 INSTALL_DEPS="$tmp/install-deps" \
    "$tmp/build/common/img.o" "$tmp/build/cgi-bin/auth" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ -x "$tmp/build/cgi-bin/auth" ]; then
	echo "PASS deps-order: the first make builds (flags asked after the install)"
else
	echo "FAIL deps-order: the first make builds: $(printf '%s\n' "$out" | grep -m3 -E 'error|undefined')"
fi
if [ ! -e "$tmp/asked-before-install" ]; then
	echo "PASS deps-order: pkg-config is not asked before the install"
else
	echo "FAIL deps-order: pkg-config was asked before the install: $(head -n1 "$tmp/asked-before-install")"
fi
