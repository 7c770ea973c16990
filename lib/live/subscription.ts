import type { Redis } from 'ioredis';
import { logger } from '../logger';

export type SubscriptionState = { subscribed: boolean; since: string; error: string | null };

// How long Redis gets to confirm a SUBSCRIBE or answer a PING before the
// attempt counts as failed; how often a confirmed subscription is checked.
const SUBSCRIBE_TIMEOUT_MS = 5_000;
const PING_EVERY_MS = 5_000;
const PING_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A Redis subscription that is trusted only once Redis has confirmed it. A
 * SUBSCRIBE that failed (Redis down), never answered, or was lost with its
 * connection is sent again, with backoff, until one is confirmed; a confirmed
 * one is checked with a PING, since a connection can die without a word (a
 * frozen Redis, a dropped route). ioredis alone does neither: it resubscribes
 * only channels it once joined, and only after a disconnect it noticed.
 */
export class RedisSubscription {
  private subscribedNow = false;
  private everSubscribed = false;
  private since = Date.now();
  private lastError: string | null = null;
  private attempt: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly waiters = new Set<() => void>();
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly subscriber: Redis,
    private readonly channels: string[],
    private readonly on: {
      message(channel: string, message: Buffer): void;
      /** Confirmed; `again` when it had been confirmed before (anything published in between is gone). */
      confirmed(again: boolean): void;
      lost(): void;
    },
  ) {
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => on.message(channel.toString(), message));
    subscriber.on('close', () => this.lose('the connection to Redis closed'));
    subscriber.on('error', (error: Error) => {
      if (!this.subscribedNow) this.lastError = error.message;
    });
    subscriber.on('ready', () => {
      this.wake?.();
      this.ensure();
    });
    this.heartbeat = setInterval(() => void this.check(), PING_EVERY_MS);
    this.heartbeat.unref?.();
    this.ensure();
  }

  get subscribed(): boolean {
    return this.subscribedNow;
  }

  /** Whether it was ever confirmed: "not yet" and "lost" are told apart. */
  get wasEverSubscribed(): boolean {
    return this.everSubscribed;
  }

  state(): SubscriptionState {
    return { subscribed: this.subscribedNow, since: new Date(this.since).toISOString(), error: this.subscribedNow ? null : this.lastError };
  }

  /** Resolves once confirmed, or after timeoutMs. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.subscribedNow) return;
    let timer: NodeJS.Timeout | undefined;
    let done = () => {};
    await new Promise<void>((resolve) => {
      done = resolve;
      this.waiters.add(done);
      timer = setTimeout(resolve, timeoutMs);
    });
    this.waiters.delete(done);
    clearTimeout(timer);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.wake?.();
    this.subscriber.disconnect();
  }

  private ensure(): void {
    if (this.subscribedNow || this.attempt || this.closed) return;
    this.attempt = (async () => {
      let logged = false;
      for (let waits = 0; !this.closed && !this.subscribedNow; waits += 1) {
        // Sent before the connection is ready, SUBSCRIBE can overtake ioredis's
        // ready check, which then fails and drops the connection: wait for 'ready'.
        if (this.subscriber.status === 'ready') {
          const request = this.subscriber.subscribe(...this.channels);
          // A confirmation that comes after the wait still counts.
          request.then(() => this.confirm(), () => undefined);
          try {
            await withTimeout(request, SUBSCRIBE_TIMEOUT_MS, `Redis did not confirm the subscription within ${SUBSCRIBE_TIMEOUT_MS / 1000} s`);
            continue;
          } catch (error) {
            this.lastError = (error as Error).message;
          }
        }
        if (waits > 0 && !logged && this.lastError) {
          logged = true;
          logger.warn({ err: this.lastError }, `live: not subscribed to Redis (${this.lastError}); retrying until Redis confirms it`);
        }
        // Cut short when the connection is ready again.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(250 * 2 ** waits, 2_000));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    })().finally(() => {
      this.attempt = null;
    });
  }

  private confirm(): void {
    if (this.closed || this.subscribedNow) return;
    const again = this.everSubscribed;
    this.subscribedNow = true;
    this.everSubscribed = true;
    this.since = Date.now();
    this.lastError = null;
    for (const resolve of [...this.waiters]) resolve();
    this.on.confirmed(again);
  }

  private lose(reason: string): void {
    if (!this.subscribedNow) return;
    this.subscribedNow = false;
    this.lastError = reason;
    this.since = Date.now();
    if (!this.closed) {
      logger.warn(`live: ${reason}; resubscribing, and open streams get a fresh snapshot once Redis confirms`);
      this.on.lost();
    }
  }

  private async check(): Promise<void> {
    if (this.closed) return;
    if (!this.subscribedNow) {
      this.ensure();
      return;
    }
    try {
      await withTimeout(this.subscriber.ping(), PING_TIMEOUT_MS, `Redis did not answer the subscriber's PING within ${PING_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      if (!this.subscribedNow || this.closed) return;
      this.lose((error as Error).message);
      this.subscriber.disconnect(true);
    }
  }
}
