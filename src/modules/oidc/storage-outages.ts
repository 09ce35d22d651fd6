import { type Adapter, errors } from 'oidc-provider';
import type { Logger } from 'pino';
import { isServiceOutage } from '../../common/errors/service-outage';

/**
 * The provider turns any error it did not raise itself into a 500 `server_error`. A storage that
 * cannot be reached (Redis or the database down) is not a broken server but a temporary condition:
 * RFC 6749 §4.1.2.1 names it `temporarily_unavailable`, and the provider then renders it like its own
 * errors (a 503 JSON body, the error page, or a redirect to the app).
 */
export function providerOutage(error: unknown): unknown {
  if (!isServiceOutage(error)) return error;
  const outage = new errors.TemporarilyUnavailable(
    'the service is temporarily unavailable, try again shortly',
  );
  outage.status = 503;
  outage.statusCode = 503;
  // Only exposed errors keep their code and description; the cause stays in the log, not the answer.
  outage.expose = true;
  return outage;
}

/** The same adapter, its calls' outages turned into `temporarily_unavailable` and logged. */
export function withOutagesReported(adapter: Adapter, model: string, logger: Logger): Adapter {
  const guard = <T>(call: Promise<T>): Promise<T> =>
    call.catch((error: unknown) => {
      const reported = providerOutage(error);
      if (reported !== error) logger.warn({ err: error, model }, 'OAuth provider storage unreachable');
      throw reported;
    });
  return {
    upsert: (id, payload, expiresIn) => guard(adapter.upsert(id, payload, expiresIn)),
    find: (id) => guard(adapter.find(id)),
    findByUid: (uid) => guard(adapter.findByUid(uid)),
    findByUserCode: (userCode) => guard(adapter.findByUserCode(userCode)),
    consume: (id) => guard(adapter.consume(id)),
    destroy: (id) => guard(adapter.destroy(id)),
    revokeByGrantId: (grantId) => guard(adapter.revokeByGrantId(grantId)),
  };
}
