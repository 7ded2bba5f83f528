// panva's oidc-provider with the device flow enabled: the peer that devauth-bench measures
// devauthd against. devauth-bench starts it as `node server.js PORT` and reads the line
// "listening on PORT" from stdout before it sends requests.
//
// Install with `npm ci` (or `npm install`) in this folder. Node.js 20 or later.

import Provider from 'oidc-provider';
// Deep imports of the package's own memory adapter and LRU, pinned to oidc-provider 9.13.3 in
// package.json. The default adapter keeps at most 1,000 entries and would evict pending grants
// during a run that stores 100,000, so this one gets a store large enough to keep them all.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}

// Each pending grant takes two entries: the device code and its user-code index.
const store = new LRU({ maxSize: 4_000_000 });

const deviceClient = (clientId) => ({
  client_id: clientId,
  client_name: 'devauth benchmark',
  application_type: 'native',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'none',
});

const provider = new Provider(`http://127.0.0.1:${port}`, {
  adapter: (model) => new MemoryAdapter(model, store),
  clients: [deviceClient('devauth'), deviceClient('bench')],
  cookies: { keys: ['devauth-bench peer cookie key, loopback only'] },
  features: {
    deviceFlow: { enabled: true },
    devInteractions: { enabled: false },
  },
  scopes: ['openid', 'offline_access', 'profile'],
  ttl: { DeviceCode: 3600 },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${port}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
