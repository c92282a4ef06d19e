// A real OpenID Connect provider (oidc-provider 8) on loopback for Vardeild's OIDC sign-in
// tests: one static confidential client, PKCE (S256) required, a fresh RS256 signing key per
// run, and the package's own development login and consent pages (any password signs in; the
// login names the account).
//
//   node provider.mjs PORT
//
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI name the client;
// OIDC_ACCOUNTS is a JSON object {login: {email, email_verified, name, groups}} (a default
// test account otherwise). Prints "listening <issuer>" once it serves.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || JSON.stringify({
  anna: { email: 'anna@member-a.example', email_verified: true, name: 'Anna Test' },
}));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'vardeild',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'vardeild-test-secret',
    redirect_uris: [process.env.OIDC_REDIRECT_URI || 'http://testserver/signin/oidc/callback'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { methods: ['S256'], required: () => true },
  jwks: { keys: [signing] },
  cookies: { keys: ['vardeild-test-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
});
provider.listen(port, '127.0.0.1', () => { console.log(`listening ${issuer}`); });
