/**
 * Baseline (d): bare (c) sending the same response the pipeline sends for
 * GET /health, byte for byte in shape: the API's security headers (computed
 * by the app's own helmet recording), the two rate-limit headers, a fresh
 * X-Request-ID, X-Process-Time, Content-Type and Content-Length, in one
 * writeHead. It does no routing, logging, metrics, validation or rate
 * counting: the ratio to it is what the pipeline's work costs, with the wire
 * format the contract requires counted on both sides.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { flatHeaders, securityHeaderEdits } from '../../src/http/middleware.js';
import { closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const security = flatHeaders(securityHeaderEdits().api);

const server = createServer((req, res) => {
  const start = process.hrtime.bigint();
  if (req.method === 'GET' && req.url === '/health') {
    const payload = JSON.stringify({ status: 'healthy' });
    const headers = security.slice();
    headers.push(
      'RateLimit-Policy',
      '"probe";q=1200000000;w=60',
      'RateLimit',
      '"probe";r=1199999999;t=60',
      'X-Request-ID',
      randomUUID(),
      'X-Process-Time',
      (Number(process.hrtime.bigint() - start) / 1e9).toFixed(6),
      'Content-Type',
      'application/json; charset=utf-8',
      'Content-Length',
      String(Buffer.byteLength(payload)),
    );
    res.writeHead(200, headers);
    res.end(payload);
    return;
  }
  res.statusCode = 404;
  res.end();
});

exitOnSignal(() => closeServer(server));
await listenAndAnnounce(server, { server: 'node:http, same headers' });
