// SPDX-License-Identifier: AGPL-3.0-or-later
//
// A real OpenID Connect provider (the certified `oidc-provider` package) for
// Voices integration tests. Everything comes from environment variables; see
// README.md beside this file. stdout carries exactly one line, `READY <issuer>`,
// once the provider listens; every log line goes to stderr.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

// oidc-provider prints NOTICE lines with console.info; keep stdout for READY only.
for (const method of ['log', 'info', 'debug']) {
  console[method] = (...args) => console.error(...args);
}

const { default: Provider } = await import('oidc-provider');

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback === undefined) {
      console.error(`provider.mjs: environment variable ${name} is required`);
      process.exit(2);
    }
    return fallback;
  }
  return value;
}

function positiveInt(name, fallback) {
  const raw = env(name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`provider.mjs: ${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const host = env('OIDC_HOST', '127.0.0.1');
const port = positiveInt('OIDC_PORT');
const issuer = env('OIDC_ISSUER', `http://${host}:${port}`);
const clientId = env('OIDC_CLIENT_ID');
const clientSecret = env('OIDC_CLIENT_SECRET');
const redirectUris = env('OIDC_REDIRECT_URI').split(/\s+/).filter(Boolean);
const codeTtl = positiveInt('OIDC_CODE_TTL', 60);
const authMethod = env('OIDC_CLIENT_AUTH_METHOD', 'client_secret_basic');
const exitOnStdinClose = env('OIDC_EXIT_ON_STDIN_CLOSE', '1') !== '0';

// "ann.smith@trust.nhs.uk" -> "Ann Smith"; "bob" -> "Bob".
function displayName(login) {
  const local = login.split('@')[0] || login;
  const words = local.split(/[._+-]+/).filter(Boolean);
  if (words.length === 0) return login;
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}

// A fresh RS256 signing key for this run only.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `test-${randomBytes(6).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingJwk] },
  // Cookie signing keys for this run only (cookies are not Secure on plain http).
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope claims (email, email_verified, name) in the ID token too,
  // not only in the userinfo response.
  conformIdTokenClaims: false,
  pkce: { methods: ['S256'], required: () => true },
  ttl: {
    AuthorizationCode: codeTtl,
    AccessToken: 3600,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  features: {
    devInteractions: { enabled: true }, // plain HTML login form at /interaction/:uid
    rpInitiatedLogout: { enabled: true },
  },
  // Any login typed into the login form is the account.
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: true,
          name: displayName(id),
        };
      },
    };
  },
  // First-party client: grant whatever is asked automatically, so there is no
  // consent page, only the login form.
  async loadExistingGrant(ctx) {
    const { provider, client, session, account } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    let grant = grantId ? await provider.Grant.find(grantId) : undefined;
    if (!grant) {
      grant = new provider.Grant({ clientId: client.clientId, accountId: account.accountId });
    }
    const scopes = [...ctx.oidc.requestParamOIDCScopes];
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    const claims = [...ctx.oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

const server = http.createServer(provider.callback());

// All state is in memory: nothing to flush, so stop at once.
function stop(reason) {
  console.error(`provider.mjs: stopping (${reason})`);
  process.exit(0);
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (exitOnStdinClose) {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('close', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume(); // read and discard, so 'end' fires when the parent closes it
}

server.on('error', (err) => {
  console.error(`provider.mjs: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});

server.listen(port, host, () => {
  process.stdout.write(`READY ${issuer}\n`);
});
