import type { Redis } from 'ioredis';
import { decodeProfile, getProfileCache } from '../cache/profile-cache';
import { logger } from '../logger';
import type { Profile } from '../profile';
import { createRedis } from '../redis';
import { countOpenStreamsWith, recordChange } from '../ops/web-metrics';
import { startWebAnnouncer } from '../ops/web-processes';

export type LiveListener = {
  /** Called with the ready-to-write SSE frame, encoded once for every listener. */
  onChange(frame: Uint8Array, profile: Profile): void;
  /** The subscription was lost and is back: anything published meanwhile is gone. */
  onResubscribed(): void;
  /** The process is shutting down: end the response cleanly so the client reconnects elsewhere. */
  close(): void;
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

  /** Ends every open stream (SIGTERM): Next's graceful close waits for open responses to finish. */
  shutdown(): void {
    for (const listener of [...this.listeners]) listener.close();
    this.subscriber.disconnect();
  }

  private subscribe(): Promise<void> {
    return this.subscriber.subscribe(this.channel).then(
      () => undefined,
      (error: Error) => logger.warn({ err: error.message }, 'live: subscribe failed; retrying when Redis is back'),
    );
  }

  private dispatch(message: Buffer): void {
    // Decoded even with no stream open: the status page counts every change this process hears.
    const profile = decodeProfile(message.toString('utf8'));
    if (!profile) {
      logger.warn('live: ignored a message that is not a profile');
      return;
    }
    const targets = this.byUsername.get(profile.username);
    recordChange(profile.updatedAt, this.everything.size + (targets?.size ?? 0));
    if (!targets && this.everything.size === 0) return;
    const frame = profileFrame(profile);
    for (const listener of this.everything) listener.onChange(frame, profile);
    if (targets) for (const listener of targets) listener.onChange(frame, profile);
  }
}

// One hub per web process; dev hot reload keeps the cached one.
const globalForLive = globalThis as unknown as { rippleLiveHub?: LiveHub };

/** Ends the process's open streams, if it has any; creates nothing. */
export function shutdownLiveHub(): number {
  const hub = globalForLive.rippleLiveHub;
  const streams = hub?.size ?? 0;
  hub?.shutdown();
  return streams;
}

export function getLiveHub(): LiveHub {
  if (!globalForLive.rippleLiveHub) {
    const hub = new LiveHub(createRedis('subscriber'), getProfileCache().channel);
    countOpenStreamsWith(() => hub.size);
    globalForLive.rippleLiveHub = hub;
    // A process that serves streams shows on the status page even if no one asked it for /status.
    startWebAnnouncer();
  }
  return globalForLive.rippleLiveHub;
}
