/**
 * `GET /metrics` for Prometheus. Like the docs it is not an operation of the
 * contract: it describes the server, not the API. METRICS_ACCESS decides who
 * may read it: `open`, or `apikey` (a key from API_KEYS in `X-API-Key` or as
 * `Authorization: Bearer <key>`, which Prometheus' scrape config can send).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.js';
import { ApiError } from '../contract/errors.js';
import type { Metrics } from '../metrics.js';

const digest = (key: string): Buffer => createHash('sha256').update(key).digest();

function presentedKey(req: Request): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

export function metricsRoute(
  metrics: Metrics,
  config: Pick<Config, 'metricsAccess' | 'apiKeys'>,
): RequestHandler {
  const keys = config.apiKeys.map(digest);
  const allowed = (req: Request): boolean => {
    if (config.metricsAccess === 'open') return true;
    const key = presentedKey(req);
    if (key === undefined) throw new ApiError('unauthorized', 'Reading metrics needs an API key.');
    const given = digest(key);
    let found = false;
    for (const known of keys) found = timingSafeEqual(known, given) || found;
    if (!found) throw new ApiError('forbidden', 'This key may not read metrics.');
    return true;
  };
  return (req, res, next) => {
    try {
      allowed(req);
    } catch (error) {
      next(error);
      return;
    }
    metrics.render().then(({ contentType, body }) => {
      res.setHeader('Content-Type', contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(body);
    }, next);
  };
}
