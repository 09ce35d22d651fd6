import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from './metrics.service';

/** The label for requests no route matched (404s for arbitrary paths must not grow the label set). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route template a request matched (`/siteapi/v1/user/:username`), never the raw path, so ids and
 * usernames stay out of labels. Express sets `req.route` when a route handles the request.
 */
export function routeTemplate(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string') return UNMATCHED_ROUTE;
  return `${req.baseUrl}${route.path}`;
}

/**
 * Counts one request and its duration, by method, route template (known once it is answered) and
 * status: for Express requests (httpMetrics) and for the OAuth provider's.
 */
export function countRequest(
  metrics: Metrics,
  method: string,
  res: ServerResponse,
  route: () => string,
): void {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const labels = { method, route: route(), status: String(res.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  });
}

export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    countRequest(metrics, req.method, res, () => routeTemplate(req));
    next();
  };
}
