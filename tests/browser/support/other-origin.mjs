// A second web site on another loopback port, so another origin, that serves pages an
// attacker would use against the verification page: frames and cross-site forms.

import http from 'node:http';

/**
 * Starts an HTTP server on 127.0.0.1 with a free port that serves `pages`, a map from path to
 * HTML. Returns `{ origin, url(path), close() }`.
 */
export async function startOtherOrigin(pages) {
  const server = http.createServer((request, response) => {
    const html = pages[new URL(request.url, 'http://127.0.0.1').pathname];
    if (html === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  server.requestTimeout = 10_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    url: (pathname) => `${origin}${pathname}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Escapes `value` for an HTML attribute. */
export function escapeAttribute(value) {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
