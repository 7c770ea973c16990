import type { Redis } from 'ioredis';
import { decodeProfile, getProfileCache } from './cache';
import { logger } from './logger';
import type { Profile } from './profile';
import { createRedis } from './redis';

export type LiveListener = {
  /** Called with the ready-to-write SSE frame, encoded once for every listener. */
  onChange(frame: Uint8Array, profile: Profile): void;
  /** The subscription was lost and is back: anything published meanwhile is gone. */
  onResubscribed(): void;
};

const encoder = new TextEncoder();

export function profileFrame(profile: Profile): Uint8Array {
  return encoder.encode(`event: profile\ndata: ${JSON.stringify(profile)}\n\n`);
}

/**
 * One Redis subscription per web process, fanned out to every open stream.
 * Listeners register per username (or for everything), so an event costs one
 * map lookup, not a scan of every stream.
 */
export class LiveHub {
  private readonly byUsername = new Map<string, Set<LiveListener>>();
  private readonly everything = new Set<LiveListener>();
  private readonly listeners = new Set<LiveListener>();
  private subscribed: Promise<void>;
  private wasReady = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {
    this.subscribed = this.subscribe();
    subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.dispatch(message));
    subscriber.on('ready', () => {
      if (!this.wasReady) {
        this.wasReady = true;
        return;
      }
      // ioredis resubscribes by itself; subscribing again gives us a promise
      // that settles once Redis has confirmed, and only then is a snapshot safe.
      this.subscribed = this.subscribe();
      void this.subscribed.then(() => {
        logger.info({ listeners: this.size }, 'live: subscription restored; sending fresh snapshots');
        for (const listener of [...this.listeners]) listener.onResubscribed();
      });
    });
  }

  /** Open listeners (streams) in this process. */
  get size(): number {
    return this.listeners.size;
  }

  /** Resolves once the subscription is confirmed, or after timeoutMs so a snapshot can still be sent while Redis is down. */
  async ready(timeoutMs = 3_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.subscribed.catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Listens for changes to these usernames (null: to every profile); returns the unsubscribe. */
  listen(usernames: string[] | null, listener: LiveListener): () => void {
    this.listeners.add(listener);
    if (usernames === null) {
      this.everything.add(listener);
      return () => {
        this.listeners.delete(listener);
        this.everything.delete(listener);
      };
    }
    for (const username of usernames) {
      let set = this.byUsername.get(username);
      if (!set) this.byUsername.set(username, (set = new Set()));
      set.add(listener);
    }
    return () => {
      this.listeners.delete(listener);
      for (const username of usernames) {
        const set = this.byUsername.get(username);
        set?.delete(listener);
        if (set?.size === 0) this.byUsername.delete(username);
      }
    };
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }

  private subscribe(): Promise<void> {
    return this.subscriber.subscribe(this.channel).then(
      () => undefined,
      (error: Error) => logger.warn({ err: error.message }, 'live: subscribe failed; retrying when Redis is back'),
    );
  }

  private dispatch(message: Buffer): void {
    // A resync publishes every profile; with nobody listening there is nothing to decode.
    if (this.listeners.size === 0) return;
    const profile = decodeProfile(message.toString('utf8'));
    if (!profile) {
      logger.warn('live: ignored a message that is not a profile');
      return;
    }
    const targets = this.byUsername.get(profile.username);
    if (!targets && this.everything.size === 0) return;
    const frame = profileFrame(profile);
    for (const listener of this.everything) listener.onChange(frame, profile);
    if (targets) for (const listener of targets) listener.onChange(frame, profile);
  }
}

// One hub per web process; dev hot reload keeps the cached one.
const globalForLive = globalThis as unknown as { rippleLiveHub?: LiveHub };

export function getLiveHub(): LiveHub {
  globalForLive.rippleLiveHub ??= new LiveHub(createRedis('subscriber'), getProfileCache().channel);
  return globalForLive.rippleLiveHub;
}
