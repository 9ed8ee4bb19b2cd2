#!/usr/bin/env bash
# Updates the vendored NHS.UK frontend (https://www.npmjs.com/package/nhsuk-frontend, MIT licence) from
# the npm registry: its compiled CSS and JavaScript, the icons its CSS draws, and its licence. The
# service itself never needs Node: the files are committed and embedded in the binary.
#
#   bash assets/vendor/update-nhsuk-frontend.sh          # the latest release
#   bash assets/vendor/update-nhsuk-frontend.sh 10.6.1   # a given release
#
# Then look at the pages (the browser tests run axe on every one) and commit the result.
set -euo pipefail
version="${1:-latest}"
here="$(cd "$(dirname "$0")" && pwd)"
target="$here/nhsuk-frontend"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "nhsuk-frontend@$version" >/dev/null && tar xzf nhsuk-frontend-*.tgz)
package="$work/package"
dist="$package/dist/nhsuk"
resolved="$(node -p "require('$package/package.json').version")"

rm -rf "$target"
mkdir -p "$target/images"
# The web fonts live on assets.nhs.uk, which the service's content security policy does not allow and
# a trust may not be licensed for: the @font-face rules go and text falls back to Arial, as the
# design system's own font stack intends. Icons are fetched relative to the CSS file, not from /assets.
sed -E \
  -e 's/@font-face\{[^}]*\}//g' \
  -e 's#url\(/assets/images/#url(images/#g' \
  -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
  "$dist/nhsuk-frontend.min.css" > "$target/nhsuk-frontend.min.css"
sed -E -e 's#//\# sourceMappingURL=.*$##' "$dist/nhsuk-frontend.min.js" > "$target/nhsuk-frontend.min.js"
for icon in $(grep -oE 'url\(images/[^)]+\)' "$target/nhsuk-frontend.min.css" | sed -E 's#url\(images/(.*)\)#\1#' | sort -u); do
  cp "$dist/assets/images/$icon" "$target/images/$icon"
done
# The package ships its licence statement in its README rather than a file of its own.
awk '/^## /{inside = ($0 == "## Licence")} inside' "$package/README.md" > "$target/LICENCE.md"
echo "$resolved" > "$target/VERSION"
echo "NHS.UK frontend $resolved vendored into ${target#"$PWD"/}"
