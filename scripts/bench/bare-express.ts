/**
 * Baseline (b): a bare Express 5 app with one route answering GET /health with
 * the same JSON as the real app. It carries the same app settings as
 * src/http/index.ts (no ETag, no X-Powered-By, no query parser), so the ratio
 * pipeline/express measures what our pipeline adds, not Express defaults.
 */
import { createServer } from 'node:http';
import express from 'express';
import { closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.set('query parser', false);
app.get('/health', (_req, res) => {
  res.json({ status: 'healthy' });
});

const server = createServer(app);
exitOnSignal(() => closeServer(server));
await listenAndAnnounce(server, { server: 'express' });
