// panva's oidc-provider with the device flow enabled, on a loopback port, as a peer for the
// devauth CLI's interoperability test (crates/devauth/tests/oidc_provider_interop.rs).
//
// Usage: node server.js PORT   (or PORT=... node server.js)
//
// The issuer is http://127.0.0.1:PORT. Two public clients are registered for the device grant:
// `devauth` (one-hour access tokens) and `short` (3-second access tokens, for refresh tests).
// The development interactions are on, so the sign-in page accepts any login and password: the
// login becomes the account id and the `preferred_username` claim.
//
// One route is added for the test and is not part of oidc-provider:
//   GET /interop/refresh-count  returns {"succeeded": N, "failed": N}, the refresh token grant
//                               requests handled so far.

import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.js PORT (or set PORT); PORT must be a TCP port number');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const deviceClient = (clientId) => ({
  client_id: clientId,
  client_name: `devauth interop client ${clientId}`,
  application_type: 'native',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'none',
  scope: 'openid profile offline_access',
});

const provider = new Provider(issuer, {
  clients: [deviceClient('devauth'), deviceClient('short')],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
  },
  scopes: ['openid', 'profile', 'offline_access'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  ttl: {
    AccessToken: (ctx, token, client) => (client?.clientId === 'short' ? 3 : 3600),
    DeviceCode: 600,
    RefreshToken: 24 * 3600,
    Grant: 24 * 3600,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
  },
  cookies: { keys: ['devauth-interop-test-only-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id };
      },
    };
  },
});

const refreshes = { succeeded: 0, failed: 0 };
const isRefresh = (ctx) => ctx.oidc?.params?.grant_type === 'refresh_token';
provider.on('grant.success', (ctx) => {
  if (isRefresh(ctx)) refreshes.succeeded += 1;
});
provider.on('grant.error', (ctx) => {
  if (isRefresh(ctx)) refreshes.failed += 1;
});
provider.on('server_error', (ctx, error) => {
  console.error('server_error', error);
});

const handleProvider = provider.callback();
const server = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/interop/refresh-count') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(refreshes));
    return;
  }
  handleProvider(request, response);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

// The test kills this process by its id. SIGTERM and SIGINT close the listener first.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
