import type { Redis } from 'ioredis';

/** Where Redis sends the invalidations of the keys a redirecting tracking connection read (RESP2). */
const INVALIDATE_CHANNEL = '__redis__:invalidate';
/** Entries kept (least recently used go first): a few MB of token payloads at most. */
const MAX_ENTRIES = 10_000;

/** A Redis hash as HGETALL returns it: `{}` when the key does not exist. */
export type StoredHash = Readonly<Record<string, string>>;

/**
 * Hash reads served from this process's memory while Redis vouches for them: Redis's server-assisted
 * client-side caching. The reads go over their own connection with `CLIENT TRACKING ON REDIRECT`, so
 * Redis remembers which keys it read and tells a second, subscribed connection the moment any client
 * (another replica included) changes, deletes or expires one of them; that entry is dropped before the
 * next request is read. Whatever this process writes itself it forgets at once (`forget`), not waiting
 * for the message. A read that an invalidation overtakes is returned but not kept. While either
 * connection is down or tracking is not on (an older Redis, a missing ACL), nothing is kept and every
 * read goes to the fallback connection, as without this cache.
 */
export class TrackedHashReads {
  private readonly entries = new Map<string, StoredHash>();
  private readonly reading = new Map<string, Promise<StoredHash>>();
  /** Tracking is on for the reader, redirected to the live subscriber. */
  private active = false;
  /** Bumped whenever kept entries stop being vouched for: a read begun before must not be kept. */
  private generation = 0;
  private redirectId: string | undefined;
  private closed = false;

  constructor(
    private readonly fallback: Redis,
    private readonly reader: Redis,
    private readonly invalidations: Redis,
    private readonly onProblem: (error: unknown) => void,
  ) {
    invalidations.on('messageBuffer', (channel: Buffer, keys: unknown) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.invalidated(keys);
    });
    invalidations.on('ready', () => void this.subscribe());
    invalidations.on('close', () => {
      this.redirectId = undefined;
      this.deactivate();
    });
    reader.on('ready', () => void this.track());
    reader.on('close', () => this.deactivate());
    // A Redis outage shows on the main connection and in readiness; here it only means no keeping.
    for (const connection of [reader, invalidations]) connection.on('error', () => undefined);
    if (invalidations.status === 'ready') void this.subscribe();
  }

  /** Two more connections like `redis` (one reads, one hears invalidations). */
  static beside(redis: Redis, onProblem: (error: unknown) => void): TrackedHashReads {
    return new TrackedHashReads(
      redis,
      redis.duplicate(),
      // Subscribes itself on every (re)connection, after asking for its new client id.
      redis.duplicate({ autoResubscribe: false, enableAutoPipelining: false }),
      onProblem,
    );
  }

  /** Whether reads are being kept (tracking on, both connections up). */
  get tracking(): boolean {
    return this.active;
  }

  /**
   * The hash at `key`, kept for later reads when `keep` says so of what was read (a caller may keep
   * only what cannot change behind a tracked key's back, such as an absent key).
   */
  async read(key: string, keep: (hash: StoredHash) => boolean): Promise<StoredHash> {
    if (!this.active) return this.fallback.hgetall(key);
    const kept = this.entries.get(key);
    if (kept) {
      this.entries.delete(key);
      this.entries.set(key, kept);
      return kept;
    }
    const pending = this.reading.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const read = this.reader.hgetall(key).then((hash): StoredHash => Object.freeze(hash));
    this.reading.set(key, read);
    try {
      const hash = await read;
      // Not when an invalidation or this process's own write came in meanwhile: it may describe the
      // key as it was before.
      if (this.reading.get(key) === read && this.generation === generation && keep(hash)) {
        this.entries.set(key, hash);
        if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      }
      return hash;
    } finally {
      if (this.reading.get(key) === read) this.reading.delete(key);
    }
  }

  /** Drops what is kept of keys this process has just written or deleted. */
  forget(keys: Iterable<string>): void {
    for (const key of keys) {
      this.entries.delete(key);
      this.reading.delete(key);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deactivate();
    await Promise.allSettled([this.reader.quit(), this.invalidations.quit()]);
  }

  /** RESP2 tracking messages: the keys that changed, or nil when everything must go (FLUSHALL). */
  private invalidated(keys: unknown): void {
    if (Array.isArray(keys)) this.forget(keys.map(String));
    else this.dropAll();
  }

  private deactivate(): void {
    this.active = false;
    this.dropAll();
  }

  private dropAll(): void {
    this.generation += 1;
    this.entries.clear();
    this.reading.clear();
  }

  /** On every connection of the subscriber: its new client id, then the channel, then tracking to it. */
  private async subscribe(): Promise<void> {
    if (this.closed) return;
    try {
      const id = String(await this.invalidations.client('ID'));
      await this.invalidations.subscribe(INVALIDATE_CHANNEL);
      this.redirectId = id;
      await this.track();
    } catch (error) {
      this.onProblem(error);
    }
  }

  /** Turns tracking on for the reader's current connection, redirected to the current subscriber. */
  private async track(): Promise<void> {
    const redirect = this.redirectId;
    if (this.closed || redirect === undefined || this.reader.status !== 'ready') return;
    this.deactivate();
    const generation = this.generation;
    try {
      await this.reader.client('TRACKING', 'ON', 'REDIRECT', redirect);
      if (generation === this.generation && this.redirectId === redirect) this.active = true;
    } catch (error) {
      this.onProblem(error);
    }
  }
}
