#!/usr/bin/env bash
# Vendors the API docs page's assets: Swagger UI from the npm package `swagger-ui-dist`, at the
# pinned version and checked against the registry's published integrity. The files land in
# src/docs/assets/ and are embedded in the binary (src/docs/mod.rs), so the page makes no request
# to any other origin. Run it again after changing VERSION and INTEGRITY (from
# `npm view swagger-ui-dist@<version> dist.integrity`).
set -euo pipefail
VERSION=5.36.0
INTEGRITY=sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "swagger-ui-dist@${VERSION}" >/dev/null
tarball="swagger-ui-dist-${VERSION}.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "integrity mismatch: $actual" >&2
  exit 1
fi
tar xzf "$tarball"
for f in swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE; do
  cp "package/$f" "$here/assets/$f"
done
echo "swagger-ui-dist ${VERSION} (${INTEGRITY})" > "$here/assets/VERSION"
