// node-oidc-provider 9.x test OP for the kinde_sdk OAuth integration tests.
// Started by tests/servers/oidc_provider.py; loopback only. Env:
//   PORT, ISSUER, API_AUDIENCE, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, LOGOUT_REDIRECT_URI
//   (both may be comma-separated lists, e.g. for example apps on other ports),
//   JWKS_FILE (RS256 key, generated when missing), KINDE_ROUTES=1 (Kinde-style paths).
// Access tokens (JWT, audience API_AUDIENCE) carry Kinde-like claims: permissions, org_code,
// roles, feature_flags; the ID token carries org_codes and the profile/email claims.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// tools/node_modules is not on this file's resolution path: the runner passes the module.
const { default: Provider } = await import(
  process.env.OIDC_PROVIDER_MODULE
    ? pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href
    : 'oidc-provider'
);

const PORT = Number(process.env.PORT || 3000);
const ISSUER = process.env.ISSUER || `http://127.0.0.1:${PORT}`;
const API_AUDIENCE = process.env.API_AUDIENCE || `${ISSUER}/api`;
const CLIENT_ID = process.env.CLIENT_ID || 'kinde-sdk-test';
const CLIENT_SECRET = process.env.CLIENT_SECRET || 'kinde-sdk-test-secret-0123456789abcdef';
const REDIRECT_URI = process.env.REDIRECT_URI || 'http://127.0.0.1:8000/callback';
const LOGOUT_REDIRECT_URI = process.env.LOGOUT_REDIRECT_URI || 'http://127.0.0.1:8000/';

const JWKS_FILE = process.env.JWKS_FILE || join(tmpdir(), 'kinde-sdk-test-jwks.json');
if (!existsSync(JWKS_FILE)) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256-1', use: 'sig', alg: 'RS256' };
  writeFileSync(JWKS_FILE, JSON.stringify({ keys: [jwk] }, null, 2));
}
const jwks = JSON.parse(readFileSync(JWKS_FILE, 'utf8'));

const ACCOUNTS_SCOPES = 'read:users write:users';

// Kinde-like authorization claims, the same for every account (the login becomes `sub`).
const KINDE_CLAIMS = {
  permissions: ['read:users', 'write:users'],
  org_code: 'org_123',
  roles: [{ id: 'role_1', key: 'admin', name: 'Admin' }],
  feature_flags: {
    theme: { t: 's', v: 'dark' },
    is_dark_mode: { t: 'b', v: true },
    competitions_limit: { t: 'i', v: 5 },
  },
};
const ORG_CODES = ['org_123', 'org_456'];

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URI.split(','),
    post_logout_redirect_uris: LOGOUT_REDIRECT_URI.split(','),
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  clientDefaults: { id_token_signed_response_alg: 'RS256' },
  jwks,
  pkce: { required: () => true },          // v9 supports S256 only
  rotateRefreshToken: true,                // every refresh returns a new refresh token
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  claims: {
    openid: ['sub', 'org_codes'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'picture'],
  },
  conformIdTokenClaims: false,              // profile/email claims in the ID token (Kinde-like)
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id, email: `${id}@example.test`, email_verified: true,
          name: `Test ${id}`, given_name: 'Test', family_name: id,
          picture: `https://example.test/${id}.png`, org_codes: ORG_CODES,
        };
      },
    };
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'AccessToken') return { ...KINDE_CLAIMS };
    return undefined;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API_AUDIENCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (resourceIndicator !== API_AUDIENCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: ACCOUNTS_SCOPES,
          audience: API_AUDIENCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  ttl: { AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, RefreshToken: 86400 },
  cookies: { keys: ['test-cookie-key-1'] },
  ...(process.env.KINDE_ROUTES === '1' ? { routes: {
    authorization: '/oauth2/auth', token: '/oauth2/token', jwks: '/.well-known/jwks.json',
    userinfo: '/oauth2/v2/user_profile', end_session: '/logout',
    introspection: '/oauth2/introspect', revocation: '/oauth2/revoke',
  } } : {}),
};

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${ISSUER}/.well-known/openid-configuration`);
});
