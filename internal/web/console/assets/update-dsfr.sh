#!/usr/bin/env bash
# Refreshes the DSFR files the console embeds from the @gouvfr/dsfr npm
# package: the stylesheet, the JavaScript module, and only the fonts and
# icons the stylesheet refers to (woff2, which every supported browser reads).
#
#   internal/web/console/assets/update-dsfr.sh [version]   (default: latest)
#
# Needs npm and tar. Review the diff, then run the tests: the end-to-end test
# loads these files in Chromium.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-$(npm view @gouvfr/dsfr version)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "@gouvfr/dsfr@$version" >/dev/null && tar xzf gouvfr-dsfr-*.tgz)
dist="$work/package/dist"
out="$here/dsfr"
rm -rf "$out"
mkdir -p "$out"
cp "$dist/dsfr.min.css" "$dist/dsfr.module.min.js" "$out/"
mkdir -p "$out/favicon"
cp "$dist/favicon/favicon.svg" "$out/favicon/"

# Every icon and woff2 font the stylesheet names, relative to dist/.
grep -o 'url([^)]*)' "$dist/dsfr.min.css" |
	sed -e 's/^url(//' -e 's/)$//' -e "s/[\"']//g" |
	grep -E '^(icons/.*\.svg|fonts/.*\.woff2)$' |
	sort -u |
	while read -r f; do
		mkdir -p "$out/$(dirname "$f")"
		cp "$dist/$f" "$out/$f"
	done

cp "$work/package/LICENSE.md" "$out/LICENSE.md"
echo "$version" >"$out/VERSION"
echo "DSFR $version: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
