#!/usr/bin/env bash
# The API document viewers served at /docs (Swagger UI) and /redoc (ReDoc) are embedded in the
# binary at build time, so the pages work with no internet. Their files come from the npm
# packages below, pinned by the tarball's shasum; only the three files served are kept.
set -euo pipefail
cd "$(dirname "$0")/../third_party/docs-viewers"
SWAGGER=swagger-ui-dist@5.35.0  SWAGGER_SHA1=5c3b487ae5a2121b2c668d6f92b550707521876a
REDOC=redoc@2.5.4               REDOC_SHA1=c2b77b368800f56f69d43697d0fc45738fd8f466
if [[ -s swagger-ui-bundle.js && -s swagger-ui.css && -s redoc.standalone.js ]]; then
  exit 0
fi
echo "fetch-docs-viewers: npm pack $SWAGGER $REDOC"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "$SWAGGER" "$REDOC" --silent --loglevel=error >/dev/null)
check() {  # tarball sha1
  local got
  got=$(sha1sum "$1" | cut -d' ' -f1)
  [[ "$got" == "$2" ]] || { echo "fetch-docs-viewers: $1 has sha1 $got, expected $2" >&2; exit 1; }
}
check "$work/swagger-ui-dist-5.35.0.tgz" "$SWAGGER_SHA1"
check "$work/redoc-2.5.4.tgz" "$REDOC_SHA1"
tar -xzf "$work/swagger-ui-dist-5.35.0.tgz" -C "$work" package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE
cp "$work/package/swagger-ui-bundle.js" "$work/package/swagger-ui.css" .
cp "$work/package/LICENSE" LICENSE.swagger-ui
rm -rf "$work/package"
tar -xzf "$work/redoc-2.5.4.tgz" -C "$work" package/bundles/redoc.standalone.js package/LICENSE
cp "$work/package/bundles/redoc.standalone.js" .
cp "$work/package/LICENSE" LICENSE.redoc
