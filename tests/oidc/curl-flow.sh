#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Drives one authorization-code + PKCE login against a running provider.mjs with
# curl only, the way a non-browser test client must, and checks the ID token.
#
#   curl-flow.sh EMAIL [NONCE] [SECONDS_TO_WAIT_BEFORE_TOKEN]
#
# Uses the same OIDC_* variables as provider.mjs (OIDC_PORT, OIDC_CLIENT_ID,
# OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, optional OIDC_ISSUER). Exits 0 when the
# ID token checks pass, 3 when the token endpoint refuses the code.
set -euo pipefail

ISS=${OIDC_ISSUER:-http://127.0.0.1:${OIDC_PORT:?}}
CID=${OIDC_CLIENT_ID:?}
SEC=${OIDC_CLIENT_SECRET:?}
RED=${OIDC_REDIRECT_URI:?}
EMAIL=${1:?usage: curl-flow.sh EMAIL [NONCE] [WAIT]}
NONCE=${2:-nonce-$RANDOM$RANDOM}
WAIT=${3:-0}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
JAR=$TMP/cookies

b64url() { base64 | tr '+/' '-_' | tr -d '=\n'; }
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
location() { grep -i '^location:' "$1" | tr -d '\r' | cut -d' ' -f2-; }
absolute() { case $1 in /*) echo "$ISS$1" ;; *) echo "$1" ;; esac; }

VERIFIER=$(head -c 32 /dev/urandom | b64url)
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
STATE=state-$RANDOM$RANDOM

AUTH="$ISS/auth?response_type=code&client_id=$(enc "$CID")&redirect_uri=$(enc "$RED")"
AUTH+="&scope=$(enc 'openid email profile')&state=$STATE&nonce=$(enc "$NONCE")"
AUTH+="&code_challenge=$CHALLENGE&code_challenge_method=S256"

echo "1. GET $AUTH"
curl -sS -b "$JAR" -c "$JAR" -o /dev/null -D "$TMP/h1" "$AUTH"
LOC=$(absolute "$(location "$TMP/h1")")

echo "2. GET $LOC"
curl -sS -b "$JAR" -c "$JAR" -o "$TMP/login.html" "$LOC"
grep -o '<form[^>]*>\|<input[^>]*>' "$TMP/login.html" | sed 's/^/   /'
ACTION=$(grep -o '<form[^>]*action="[^"]*"' "$TMP/login.html" | head -1 | sed 's/.*action="//; s/"$//')

echo "3. POST $ACTION  (prompt=login, login=$EMAIL, password=x)"
curl -sS -b "$JAR" -c "$JAR" -o /dev/null -D "$TMP/h3" \
  --data-urlencode prompt=login --data-urlencode "login=$EMAIL" --data-urlencode password=x "$ACTION"
LOC=$(location "$TMP/h3")

n=4
while [[ $LOC != "$RED"* ]]; do
  LOC=$(absolute "$LOC")
  echo "$n. GET $LOC"
  curl -sS -b "$JAR" -c "$JAR" -o "$TMP/body" -D "$TMP/h$n" "$LOC"
  LOC=$(location "$TMP/h$n")
  if [[ -z $LOC ]]; then echo "no redirect, body:"; head -c 1000 "$TMP/body"; echo; exit 1; fi
  n=$((n + 1))
done
echo "   -> $LOC"

CODE=$(python3 - "$LOC" "$STATE" <<'PY'
import sys, urllib.parse as u
q = u.parse_qs(u.urlparse(sys.argv[1]).query)
assert q["state"] == [sys.argv[2]], "state mismatch"
print(q["code"][0])
PY
)

if [[ $WAIT != 0 ]]; then echo "   waiting $WAIT s before redeeming the code"; sleep "$WAIT"; fi

echo "$n. POST $ISS/token  (client_secret_basic, grant_type=authorization_code, code, redirect_uri, code_verifier)"
curl -sS -u "$(enc "$CID"):$(enc "$SEC")" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$RED" --data-urlencode "code_verifier=$VERIFIER" \
  "$ISS/token" > "$TMP/token.json"

python3 - "$TMP/token.json" "$ISS" "$CID" "$NONCE" "$EMAIL" <<'PY'
import base64, json, sys
path, iss, cid, nonce, email = sys.argv[1:]
t = json.load(open(path))
if "id_token" not in t:
    print("   token endpoint refused:", json.dumps(t))
    sys.exit(3)
seg = t["id_token"].split(".")
dec = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
print("   id_token header: ", json.dumps(dec(seg[0])))
p = dec(seg[1])
print("   id_token payload:", json.dumps(p))
assert p["iss"] == iss, "iss"
assert p["aud"] == cid, "aud"
assert p["nonce"] == nonce, "nonce"
assert p["sub"] == email and p["email"] == email, "email"
assert p["email_verified"] is True, "email_verified"
print("   OK: iss, aud, nonce, sub, email, email_verified as expected")
PY
