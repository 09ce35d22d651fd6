import type { AdapterPayload } from 'oidc-provider';

/** Beyond this many clients the cache starts over rather than grow (apps are counted in dozens). */
const MAX_ENTRIES = 10_000;

/**
 * Client metadata by client_id, valid while the `apps` change stamp stays where it was. Every OAuth
 * request reads the stamp before the provider looks its client up (`observe`), and any other value
 * empties the cache, so an app edit committed before a request started is seen by that request; an
 * entry is only ever loaded after the clear that precedes it. Unknown client ids are not kept.
 */
export class ClientMetadataCache {
  private stamp: number | undefined;
  private readonly entries = new Map<string, Promise<AdapterPayload | undefined>>();

  observe(stamp: number): void {
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    this.entries.clear();
  }

  find(
    clientId: string,
    load: () => Promise<AdapterPayload | undefined>,
  ): Promise<AdapterPayload | undefined> {
    const cached = this.entries.get(clientId);
    if (cached) return cached;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const loading = load();
    this.entries.set(clientId, loading);
    const forget = () => {
      if (this.entries.get(clientId) === loading) this.entries.delete(clientId);
    };
    loading.then((metadata) => {
      if (metadata === undefined) forget();
    }, forget);
    return loading;
  }
}
