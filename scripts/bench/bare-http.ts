/**
 * Baseline (c): a bare `node:http` server answering GET /health with the same
 * JSON as the real app. The body is serialised per request, as the app does.
 */
import { createServer } from 'node:http';
import { closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    const payload = JSON.stringify({ status: 'healthy' });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(payload));
    res.end(payload);
    return;
  }
  res.statusCode = 404;
  res.end();
});

exitOnSignal(() => closeServer(server));
await listenAndAnnounce(server, { server: 'node:http' });
