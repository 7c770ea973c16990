import type { Keyspace } from '../cache/keyspace';
import { decodeMessage, getProfileCache, type CacheEpoch } from '../cache/profile-cache';
import { logger } from '../logger';
import type { Profile } from '../profile';
import { getRedis, redisTarget } from '../redis';
import type { RedisTarget } from '../redis-url';
import { countChannelsWith, countOpenStreamsWith, recordChange } from '../ops/web-metrics';
import { plainError } from '../ops/plain-error';
import { reportLiveStateWith, startWebAnnouncer } from '../ops/web-processes';
import { adoptEpoch, currentEpoch, getEpoch, onEpochChange, refreshEpoch } from './epoch';
import { profileFrame, samePipeline, type PipelineState } from './frames';
import { onWorkerStateChange, watchPipeline, workerState } from './pipeline';
import { profilesChangedSince } from '../reads/profile-reads';
import { ChannelSubscription, type SubscriptionState } from './subscription';

// A stream of every profile has no snapshot to re-read after its channels
// were lost: it is sent what Postgres changed since a little before the loss
// (clocks of web and database may differ by this much), at most this many
// profiles (more than a stream of every profile may fall behind anyway).
const CATCH_UP_MARGIN_MS = 10_000;
const CATCH_UP_LIMIT = 10_000;
// After a catch-up, live messages no newer than what it sent are dropped for
// this long: a change committed before the catch-up read may be published after it.
const CATCH_UP_FLOOR_MS = 10_000;

export type LiveListener = {
  /** Called with the ready-to-write SSE frame, encoded once for every listener. */
  onChange(frame: Uint8Array, profile: Profile): void;
  /** The profile was deleted; `version` is the last version it had. */
  onDeleted(username: string, version: number): void;
  /** The cache's epoch changed: versions start over, so send it and a fresh snapshot. */
  onEpoch(epoch: CacheEpoch): void;
  /** Whether changes flow to this process changed. */
  onPipeline(state: PipelineState): void;
  /** The subscription is (back) in place: anything published while it was not is gone, so send a fresh snapshot. */
  onResubscribed(): void;
  /** The process is shutting down: end the response cleanly so the client reconnects elsewhere. */
  close(): void;
};

export const NOT_SUBSCRIBED = 'This web server is not subscribed to Redis yet, so changes cannot reach it; retrying.';
export const SUBSCRIPTION_LOST = 'This web server lost its Redis subscription; retrying.';

/**
 * One Redis subscription per web process, fanned out to every open stream.
 * It subscribes to a profile's channel when the first stream watching that
 * profile opens and leaves it when the last one closes, so the process hears
 * only changes someone here watches; a stream of every profile adds the
 * firehose channels, and with them every change. Listeners register per
 * username (or for everything), so an event costs one map lookup, not a scan
 * of every stream. Until the subscription is confirmed (lib/live/subscription.ts)
 * streams are told changes are not flowing; each time a channel they watch is
 * confirmed again after a loss, they send a fresh snapshot.
 */
export class LiveHub {
  private readonly byUsername = new Map<string, Set<LiveListener>>();
  private readonly everything = new Set<LiveListener>();
  private readonly listeners = new Set<LiveListener>();
  private readonly firehose: Set<string>;
  private readonly usernameOf = new Map<string, string>();
  private pipeline: PipelineState = { live: false, reason: NOT_SUBSCRIBED };
  /** When a firehose channel was first lost, while a stream of every profile is open; null once caught up. */
  private firehoseLostAt: number | null = null;
  /** Per profile, the newest version the firehose streams were sent by a catch-up (or heard during one). */
  private firehoseFloor: Map<string, number> | null = null;
  private floorTimer: NodeJS.Timeout | undefined;
  private readonly subscription: ChannelSubscription;
  private readonly unwatch: Array<() => void>;

  constructor(
    private readonly keyspace: Keyspace,
    target: RedisTarget,
  ) {
    this.firehose = new Set(keyspace.firehoseChannels);
    this.subscription = new ChannelSubscription(
      target,
      [keyspace.epochChannel],
      {
        message: (channel, message) => {
          if (channel === keyspace.epochChannel) this.epochMessage(message);
          else this.dispatch(message, this.firehose.has(channel));
        },
        confirmed: (channels, again) => this.confirmed(channels, again),
        lost: (channels) => {
          if (this.everything.size > 0 && channels.some((channel) => this.firehose.has(channel))) this.firehoseLostAt ??= Date.now();
          this.updatePipeline();
        },
      },
      getRedis,
    );
    this.unwatch = [onEpochChange((next, previous) => this.epochChanged(next, previous)), onWorkerStateChange(() => this.updatePipeline())];
    void watchPipeline();
  }

  /** Open listeners (streams) in this process. */
  get size(): number {
    return this.listeners.size;
  }

  subscriptionState(): SubscriptionState {
    return this.subscription.state();
  }

  /** Redis channels this process subscribes to: the epoch's, and one per watched profile (or the firehose). */
  get channels(): number {
    return this.subscription.channelCount;
  }

  pipelineState(): PipelineState {
    return this.pipeline;
  }

  /** The epoch this process's streams speak in (see lib/live/epoch.ts). */
  epoch(): Promise<string | null> {
    return getEpoch();
  }

  /**
   * Resolves once Redis has confirmed the channels of these usernames (null:
   * the firehose) and the epoch's, or after timeoutMs so a snapshot can still
   * be sent while Redis is down. Listen first, then wait, then read: a change
   * that commits meanwhile is then heard, never missed.
   */
  ready(usernames: string[] | null = [], timeoutMs = 3_000): Promise<void> {
    const channels = usernames === null ? this.keyspace.firehoseChannels : usernames.map((username) => this.keyspace.profileChannel(username));
    return this.subscription.ready([this.keyspace.epochChannel, ...channels], timeoutMs);
  }

  /** Listens for changes to these usernames (null: to every profile); returns the unsubscribe. */
  listen(usernames: string[] | null, listener: LiveListener): () => void {
    this.listeners.add(listener);
    if (usernames === null) {
      this.everything.add(listener);
      if (this.everything.size === 1) this.subscription.add(this.keyspace.firehoseChannels);
      return () => {
        this.listeners.delete(listener);
        if (this.everything.delete(listener) && this.everything.size === 0) {
          this.subscription.remove(this.keyspace.firehoseChannels);
          this.firehoseLostAt = null;
        }
      };
    }
    const joining: string[] = [];
    for (const username of usernames) {
      let set = this.byUsername.get(username);
      if (!set) {
        this.byUsername.set(username, (set = new Set()));
        const channel = this.keyspace.profileChannel(username);
        this.usernameOf.set(channel, username);
        joining.push(channel);
      }
      set.add(listener);
    }
    if (joining.length > 0) this.subscription.add(joining);
    return () => {
      this.listeners.delete(listener);
      const leaving: string[] = [];
      for (const username of usernames) {
        const set = this.byUsername.get(username);
        if (!set?.delete(listener) || set.size > 0) continue;
        this.byUsername.delete(username);
        const channel = this.keyspace.profileChannel(username);
        this.usernameOf.delete(channel);
        leaving.push(channel);
      }
      if (leaving.length > 0) this.subscription.remove(leaving);
    };
  }

  /**
   * Channels Redis has just confirmed. A stream that watches one may have sent
   * its snapshot without it (Redis confirmed later than the stream waited, or
   * the channel had been lost): what was published meanwhile is gone, so it
   * re-reads its snapshot. A stream still opening reads its first one after this anyway.
   */
  private confirmed(channels: string[], again: string[]): void {
    const resnapshot = new Set<LiveListener>();
    for (const channel of channels) {
      // Epoch messages published while unsubscribed are gone too.
      if (channel === this.keyspace.epochChannel) void refreshEpoch().catch(() => undefined);
      else if (this.firehose.has(channel)) for (const listener of this.everything) resnapshot.add(listener);
      else for (const listener of this.byUsername.get(this.usernameOf.get(channel) ?? '') ?? []) resnapshot.add(listener);
    }
    if (again.length > 0) logger.info({ streams: resnapshot.size, channels: again.length }, 'live: subscription confirmed again; sending fresh snapshots');
    for (const listener of resnapshot) listener.onResubscribed();
    const lostAt = this.firehoseLostAt;
    if (lostAt !== null && this.keyspace.firehoseChannels.every((channel) => this.subscription.isConfirmed(channel))) {
      this.firehoseLostAt = null;
      if (this.everything.size > 0) void this.catchUpFirehose(lostAt);
    }
    this.updatePipeline();
  }

  /**
   * Sends streams of every profile what changed while their channels were
   * lost, from Postgres, in the order it changed. Live messages heard during
   * the read win over what it read, and for a while afterwards those no newer
   * than what it sent are dropped, so a profile's versions still only go up.
   */
  private async catchUpFirehose(lostAt: number): Promise<void> {
    const floor = new Map<string, number>();
    this.firehoseFloor = floor;
    clearTimeout(this.floorTimer);
    try {
      const profiles = await profilesChangedSince({ since: new Date(lostAt - CATCH_UP_MARGIN_MS), limit: CATCH_UP_LIMIT });
      let sent = 0;
      for (const profile of profiles) {
        if (!raiseFloor(floor, profile)) continue;
        const frame = profileFrame(profile);
        for (const listener of this.everything) listener.onChange(frame, profile);
        sent += 1;
      }
      logger.info({ streams: this.everything.size, profiles: sent }, `live: sent ${sent} profiles changed while the subscription was lost to the streams of every profile`);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'live: could not read what changed while the subscription was lost; streams of every profile show those profiles at their next change');
    }
    this.floorTimer = setTimeout(() => {
      if (this.firehoseFloor === floor) this.firehoseFloor = null;
    }, CATCH_UP_FLOOR_MS);
    this.floorTimer.unref?.();
  }

  /** Ends every open stream (SIGTERM): Next's graceful close waits for open responses to finish. */
  shutdown(): void {
    clearTimeout(this.floorTimer);
    for (const stop of this.unwatch) stop();
    for (const listener of [...this.listeners]) listener.close();
    this.subscription.close();
  }

  private updatePipeline(): void {
    const worker = workerState();
    const next: PipelineState = !this.subscription.subscribed
      ? { live: false, reason: this.subscription.wasEverSubscribed ? SUBSCRIPTION_LOST : NOT_SUBSCRIBED }
      : worker.live
        ? { live: true }
        : { live: false, reason: worker.reason ?? 'Changes are not flowing right now.' };
    if (samePipeline(this.pipeline, next)) return;
    this.pipeline = next;
    for (const listener of [...this.listeners]) listener.onPipeline(next);
  }

  private epochChanged(next: CacheEpoch, previous: CacheEpoch | null): void {
    if (previous && previous.epoch === next.epoch) {
      // Same data, a new generation (the cache was flushed and the worker set
      // it up again): values written meanwhile may have been dropped as old.
      for (const listener of [...this.listeners]) listener.onResubscribed();
      return;
    }
    for (const listener of [...this.listeners]) listener.onEpoch(next);
  }

  private epochMessage(message: Buffer): void {
    try {
      const { epoch, generation } = JSON.parse(message.toString('utf8')) as CacheEpoch;
      if (typeof epoch === 'string' && typeof generation === 'number') adoptEpoch({ epoch, generation });
    } catch {
      logger.warn('live: ignored an epoch message that is not one');
    }
  }

  /** A change, from a profile's channel (for the streams watching it) or a firehose channel (for streams of every profile). */
  private dispatch(message: Buffer, firehose: boolean): void {
    // Decoded even with no stream open: the status page counts every change this process hears.
    const decoded = decodeMessage(message.toString('utf8'));
    if (!decoded) {
      logger.warn('live: ignored a message that is not a profile');
      return;
    }
    const known = currentEpoch();
    // Written under an epoch that has ended: its versions mean nothing now.
    if (known && decoded.generation !== null && decoded.generation < known.generation) return;
    if (decoded.generation !== null && (!known || decoded.generation > known.generation)) {
      // This process missed the epoch's start; learning it brings a fresh snapshot.
      void refreshEpoch().catch(() => undefined);
      if (known) return;
    }
    if ('deleted' in decoded) {
      if (firehose) return;
      const { username, version } = decoded.deleted;
      for (const listener of this.byUsername.get(username) ?? []) listener.onDeleted(username, version);
      return;
    }
    const { profile } = decoded;
    if (firehose && this.firehoseFloor && !raiseFloor(this.firehoseFloor, profile)) return;
    const targets = firehose ? this.everything : this.byUsername.get(profile.username);
    recordChange(profile.updatedAt, targets?.size ?? 0);
    if (!targets || targets.size === 0) return;
    const frame = profileFrame(profile);
    for (const listener of targets) listener.onChange(frame, profile);
  }
}

/** Whether this version is newer than what streams of every profile were last sent of it; if so, it becomes the floor. */
function raiseFloor(floor: Map<string, number>, profile: Profile): boolean {
  if ((floor.get(profile.username) ?? 0) >= profile.version) return false;
  floor.set(profile.username, profile.version);
  return true;
}

// One hub per web process; dev hot reload keeps the cached one.
const globalForLive = globalThis as unknown as { rippleLiveHub?: LiveHub; rippleShuttingDown?: boolean };

/** Ends the process's open streams, if it has any, and refuses new ones from now on; creates nothing. */
export function shutdownLiveHub(): number {
  globalForLive.rippleShuttingDown = true;
  const hub = globalForLive.rippleLiveHub;
  const streams = hub?.size ?? 0;
  hub?.shutdown();
  return streams;
}

/** True once SIGTERM began: a stream opened now would be deaf until the process exits. */
export function isShuttingDown(): boolean {
  return globalForLive.rippleShuttingDown === true;
}

/** The hub, if this process has one; creates nothing. */
export function existingLiveHub(): LiveHub | undefined {
  return globalForLive.rippleLiveHub;
}

export function getLiveHub(): LiveHub {
  if (!globalForLive.rippleLiveHub) {
    const cache = getProfileCache();
    const hub = new LiveHub(cache.keyspace, redisTarget());
    countOpenStreamsWith(() => hub.size);
    countChannelsWith(() => hub.channels);
    // Announced and shown to operators in plain words; the raw error is in the log.
    reportLiveStateWith(() => {
      const state = hub.subscriptionState();
      return { ...state, error: plainError(state.error, 'Redis'), pipeline: hub.pipelineState(), epoch: currentEpoch()?.epoch ?? null };
    });
    globalForLive.rippleLiveHub = hub;
    // A process that serves streams shows on the status page even if no one asked it for /status.
    startWebAnnouncer();
  }
  return globalForLive.rippleLiveHub;
}
