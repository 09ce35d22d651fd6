/** Injection token of the provider's storage (database or Redis). */
export const OIDC_STORAGE = Symbol('OIDC_STORAGE');
