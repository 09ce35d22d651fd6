import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '../guards/principal';

/** Per-request state visible to every log line and audit entry without passing it around. */
export interface RequestContext {
  requestId: string;
  /** Set by the principal guard once the caller is known. */
  principal?: Principal;
  /** What the audit log keeps of the HTTP request; absent outside requests (CLI, jobs). */
  http?: RequestFacts;
}

export interface RequestFacts {
  /** Express `req.ip`: the client address, through trusted proxies only (TRUST_PROXY). */
  ip: string;
  userAgent: string;
  method: string;
  path: string;
  /** The parsed body, read when an entry is written (the body parsers run after the context starts). */
  body: () => unknown;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

export function currentPrincipal(): Principal | undefined {
  return requestContext.getStore()?.principal;
}

export function currentRequestFacts(): RequestFacts | undefined {
  return requestContext.getStore()?.http;
}
