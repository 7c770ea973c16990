import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { logger } from '../logger';
import { clusterSlots, createNodeRedis, createRedis, type RedisClient } from '../redis';
import type { RedisTarget } from '../redis-url';

export type SubscriptionState = { subscribed: boolean; since: string; error: string | null };

// How long Redis gets to confirm a SUBSCRIBE or answer a PING before the
// attempt counts as failed; how often a confirmed subscription is checked.
const SUBSCRIBE_TIMEOUT_MS = 5_000;
const PING_EVERY_MS = 5_000;
const PING_TIMEOUT_MS = 3_000;
// A cluster's slot map is read again this often while a channel waits for its
// node (a failover in progress), and this often otherwise (slots that moved).
// Redis drops the subscribers of a slot that migrates (resharding) with a
// message ioredis passes on only as an 'error'; the idle check is the backstop:
// 5 s, inside the catch-up margin of streams of every profile (lib/live/hub.ts).
const REROUTE_WAITING_MS = 500;
const REROUTE_IDLE_MS = 5_000;

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

type NodeEvents = {
  message(channel: string, message: Buffer): void;
  confirmed(channels: string[]): void;
  lost(channels: string[], reason: string): void;
  /** Redis says a channel belongs to another node (MOVED, or a slot that migrated): the slot map is out of date. */
  moved(): void;
};

/**
 * The channels one connection subscribes to: one Redis (SUBSCRIBE), or one
 * primary of a cluster (SSUBSCRIBE, one command per slot). A channel is
 * trusted only once Redis confirms it. A SUBSCRIBE that failed, never
 * answered, or was lost with its connection is sent again, with backoff; a
 * connection with confirmed channels is checked with a PING, since it can die
 * without a word (a frozen Redis, a dropped route). ioredis alone does
 * neither: it resubscribes only channels it once joined, and only after a
 * disconnect it noticed.
 */
class NodeSubscriber {
  readonly wanted = new Set<string>();
  readonly confirmed = new Set<string>();
  /** Channels with a SUBSCRIBE on its way on this connection. */
  private readonly requested = new Set<string>();
  lastError: string | null = null;
  private attempt: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    readonly name: string,
    private readonly connection: Redis,
    private readonly sharded: boolean,
    private readonly on: NodeEvents,
  ) {
    connection.on(sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, message: Buffer) => on.message(channel.toString(), message));
    connection.on('close', () => {
      this.requested.clear();
      this.lose('the connection to Redis closed');
    });
    connection.on('error', (error: Error) => {
      // Redis dropping the subscribers of a slot that migrated reaches ioredis as a
      // reply it was not waiting for: the slot map has changed, so look again now.
      if (/Last reply: sunsubscribe,/.test(error.message)) this.on.moved();
      else if (this.confirmed.size === 0) this.lastError = error.message;
    });
    connection.on('ready', () => {
      this.wake?.();
      this.ensure();
    });
    this.heartbeat = setInterval(() => void this.check(), PING_EVERY_MS);
    this.heartbeat.unref?.();
  }

  add(channels: string[]): void {
    for (const channel of channels) this.wanted.add(channel);
    if (this.connection.status === 'ready') this.send(channels.filter((channel) => !this.confirmed.has(channel) && !this.requested.has(channel)));
    this.ensure();
  }

  remove(channels: string[]): void {
    const leaving = channels.filter((channel) => this.wanted.delete(channel) && this.confirmed.delete(channel));
    if (this.connection.status === 'ready') this.leave(leaving);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.wake?.();
    this.connection.disconnect();
  }

  /** SSUBSCRIBE takes channels of one slot per command; SUBSCRIBE takes any. */
  private bySlot(channels: string[]): string[][] {
    return this.sharded ? [...Map.groupBy(channels, calculateSlot).values()] : [channels];
  }

  /** UNSUBSCRIBEs (SUNSUBSCRIBE per slot on a cluster); nothing waits for the answer. */
  private leave(channels: string[]): void {
    if (channels.length === 0) return;
    for (const group of this.bySlot(channels)) (this.sharded ? this.connection.sunsubscribe(...group) : this.connection.unsubscribe(...group)).catch(() => undefined);
  }

  private missing(): string[] {
    return [...this.wanted].filter((channel) => !this.confirmed.has(channel));
  }

  /** Retries until every wanted channel is confirmed: at once when the connection is ready again, else 250 ms doubling to 2 s. */
  private ensure(): void {
    if (this.attempt || this.closed || this.missing().length === 0) return;
    this.attempt = (async () => {
      let logged = false;
      for (let waits = 0; !this.closed && this.missing().length > 0; waits += 1) {
        // Sent before the connection is ready, SUBSCRIBE can overtake ioredis's
        // ready check, which then fails and drops the connection: wait for 'ready'.
        if (this.connection.status === 'ready') this.send(this.missing().filter((channel) => !this.requested.has(channel)));
        if (waits > 1 && !logged && this.lastError) {
          logged = true;
          logger.warn({ err: this.lastError, node: this.name }, `live: not subscribed to Redis (${this.lastError}); retrying until Redis confirms it`);
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

  /**
   * SUBSCRIBEs now, without waiting for requests already on their way (a new
   * stream must not wait behind a SUBSCRIBE Redis is slow to confirm). A
   * request unanswered after SUBSCRIBE_TIMEOUT_MS is sent again by the retry
   * loop; a confirmation that comes later still counts.
   */
  private send(channels: string[]): void {
    if (channels.length === 0) return;
    for (const group of this.bySlot(channels)) {
      for (const channel of group) this.requested.add(channel);
      const forget = () => {
        for (const channel of group) this.requested.delete(channel);
      };
      const timer = setTimeout(() => {
        forget();
        this.lastError = `Redis did not confirm the subscription within ${SUBSCRIBE_TIMEOUT_MS / 1000} s`;
      }, SUBSCRIBE_TIMEOUT_MS);
      timer.unref?.();
      const request = this.sharded ? this.connection.ssubscribe(...group) : this.connection.subscribe(...group);
      request.then(
        () => {
          clearTimeout(timer);
          forget();
          this.confirm(group);
        },
        (error: Error) => {
          clearTimeout(timer);
          forget();
          this.lastError = error.message;
          if (/^MOVED /.test(error.message)) this.on.moved();
        },
      );
    }
  }

  private confirm(channels: string[]): void {
    if (this.closed) return;
    // Left while its SUBSCRIBE was on the way: leave it again.
    this.leave(channels.filter((channel) => !this.wanted.has(channel)));
    const fresh = channels.filter((channel) => this.wanted.has(channel) && !this.confirmed.has(channel));
    for (const channel of fresh) this.confirmed.add(channel);
    if (fresh.length > 0) {
      this.lastError = null;
      this.on.confirmed(fresh);
    }
  }

  private lose(reason: string): void {
    if (this.confirmed.size === 0) return;
    const lost = [...this.confirmed];
    this.confirmed.clear();
    this.lastError = reason;
    if (!this.closed) this.on.lost(lost, reason);
  }

  private async check(): Promise<void> {
    if (this.closed) return;
    if (this.confirmed.size === 0) {
      this.ensure();
      return;
    }
    try {
      await withTimeout(this.connection.ping(), PING_TIMEOUT_MS, `Redis did not answer the subscriber's PING within ${PING_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      if (this.confirmed.size === 0 || this.closed) return;
      this.lose((error as Error).message);
      this.connection.disconnect(true);
    }
    this.ensure();
  }
}

export type SubscriptionEvents = {
  message(channel: string, message: Buffer): void;
  /** Confirmed now; `again` lists those confirmed before and lost since (anything published in between is gone). */
  confirmed(channels: string[], again: string[]): void;
  lost(channels: string[]): void;
};

/**
 * The web process's Redis subscription: a set of channels that grows and
 * shrinks with the streams it serves. On one Redis, one connection. On a
 * cluster, sharded pub/sub: a connection per primary that owns a wanted
 * channel's slot, found from CLUSTER SLOTS and found again when a node is
 * lost, answers MOVED, or (every REROUTE_IDLE_MS) in case slots moved.
 */
export class ChannelSubscription {
  private readonly nodes = new Map<string, NodeSubscriber>();
  private readonly route = new Map<string, string>();
  private readonly wanted = new Set<string>();
  private readonly everConfirmed = new Set<string>();
  private readonly lostChannels = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private pendingConfirmed: string[] = [];
  private owners: string[] | null = null;
  private rerouting: Promise<void> | null = null;
  private readonly rerouteTimer: NodeJS.Timeout | null = null;
  private lastRouted = 0;
  private routeError: string | null = null;
  private since = Date.now();
  private subscribedNow = false;
  private everSubscribed = false;
  private closed = false;

  /**
   * `core` channels are wanted for as long as the process runs (the epoch's):
   * until they are confirmed, the process counts as not subscribed.
   */
  constructor(
    private readonly target: RedisTarget,
    private readonly core: string[],
    private readonly on: SubscriptionEvents,
    private readonly commands: () => RedisClient,
  ) {
    if (target.cluster) {
      this.rerouteTimer = setInterval(() => {
        const waiting = this.lostChannels.size > 0 || [...this.wanted].some((channel) => !this.isConfirmed(channel));
        if (waiting || Date.now() - this.lastRouted > REROUTE_IDLE_MS) void this.reroute();
      }, REROUTE_WAITING_MS);
      this.rerouteTimer.unref?.();
    }
    this.add(core);
  }

  get subscribed(): boolean {
    return this.subscribedNow;
  }

  /** Whether it was ever confirmed: "not yet" and "lost" are told apart. */
  get wasEverSubscribed(): boolean {
    return this.everSubscribed;
  }

  /** Channels subscribed to (or being subscribed to) now. */
  get channelCount(): number {
    return this.wanted.size;
  }

  state(): SubscriptionState {
    const errors = [...this.nodes.values()].map((node) => node.lastError).filter(Boolean);
    return { subscribed: this.subscribedNow, since: new Date(this.since).toISOString(), error: this.subscribedNow ? null : (errors[0] ?? this.routeError) };
  }

  isConfirmed(channel: string): boolean {
    const node = this.route.get(channel);
    return node !== undefined && this.nodes.get(node)?.confirmed.has(channel) === true;
  }

  add(channels: string[]): void {
    const fresh = channels.filter((channel) => !this.wanted.has(channel));
    for (const channel of fresh) this.wanted.add(channel);
    if (fresh.length === 0 || this.closed) return;
    if (!this.target.cluster) {
      for (const channel of fresh) this.route.set(channel, 'single');
      this.node('single').add(fresh);
    } else if (this.owners) this.assign(fresh);
    else void this.reroute();
  }

  remove(channels: string[]): void {
    const leaving = channels.filter((channel) => !this.core.includes(channel) && this.wanted.delete(channel));
    for (const [name, list] of Map.groupBy(leaving, (channel) => this.route.get(channel))) if (name) this.nodes.get(name)?.remove(list);
    for (const channel of leaving) {
      this.everConfirmed.delete(channel);
      this.lostChannels.delete(channel);
      this.route.delete(channel);
    }
    this.update();
  }

  /** Resolves once every one of these channels is confirmed, or after timeoutMs. */
  async ready(channels: string[], timeoutMs: number): Promise<void> {
    const done = () => channels.every((channel) => !this.wanted.has(channel) || this.isConfirmed(channel));
    if (done()) return;
    let timer: NodeJS.Timeout | undefined;
    let check = () => {};
    await new Promise<void>((resolve) => {
      check = () => done() && resolve();
      this.waiters.add(check);
      timer = setTimeout(resolve, timeoutMs);
    });
    this.waiters.delete(check);
    clearTimeout(timer);
  }

  close(): void {
    this.closed = true;
    if (this.rerouteTimer) clearInterval(this.rerouteTimer);
    for (const node of this.nodes.values()) node.close();
    this.nodes.clear();
  }

  private node(name: string, address?: { host: string; port: number }): NodeSubscriber {
    let node = this.nodes.get(name);
    if (!node) {
      // Our own resubscription (NodeSubscriber) replaces ioredis's, which would not tell us when it is done.
      const connection = address
        ? createNodeRedis(`subscriber ${name}`, address, { autoResubscribe: false }, this.target)
        : (createRedis('subscriber', { autoResubscribe: false }, this.target) as Redis);
      node = new NodeSubscriber(name, connection, this.target.cluster, {
        message: this.on.message,
        confirmed: (channels) => this.confirmed(channels),
        lost: (channels, reason) => this.lost(channels, reason),
        moved: () => void this.reroute(),
      });
      this.nodes.set(name, node);
    }
    return node;
  }

  /**
   * Confirmations that arrive together (one per slot on a cluster) are told in
   * one call, on the next turn of the event loop: a stream that watches many
   * of them re-reads its snapshot once, not once per channel. The hub hears
   * first, the streams waiting in ready() after it.
   */
  private confirmed(channels: string[]): void {
    this.pendingConfirmed.push(...channels);
    if (this.pendingConfirmed.length > channels.length) return;
    setImmediate(() => {
      const confirmed = this.pendingConfirmed.filter((channel) => this.wanted.has(channel));
      this.pendingConfirmed = [];
      const again = confirmed.filter((channel) => this.everConfirmed.has(channel));
      for (const channel of confirmed) {
        this.everConfirmed.add(channel);
        this.lostChannels.delete(channel);
      }
      this.update();
      if (confirmed.length > 0) this.on.confirmed(confirmed, again);
      for (const check of [...this.waiters]) check();
    });
  }

  private lost(channels: string[], reason: string): void {
    for (const channel of channels) if (this.wanted.has(channel)) this.lostChannels.add(channel);
    logger.warn(
      { reason, channels: channels.length },
      `live: lost the subscription to ${channels.length} channels (${reason}); subscribing again${this.target.cluster ? ' on whichever primary serves them now' : ''}, and the streams watching them get a fresh snapshot once Redis confirms`,
    );
    this.update();
    this.on.lost(channels);
    if (this.target.cluster) void this.reroute();
  }

  /** Subscribed: the core channels are confirmed and no confirmed channel has been lost since. */
  private update(): void {
    const next = this.core.every((channel) => this.isConfirmed(channel)) && this.lostChannels.size === 0;
    if (next === this.subscribedNow) return;
    this.subscribedNow = next;
    this.everSubscribed ||= next;
    this.since = Date.now();
  }

  /** Sends each channel to the primary that owns its slot, moving any whose owner changed. */
  private assign(channels: string[]): void {
    const owners = this.owners!;
    // A slot no node serves (a failover under way) keeps its old route until one does.
    const changes = channels.flatMap((channel) => {
      const owner = owners[calculateSlot(channel)];
      const current = this.route.get(channel);
      return this.wanted.has(channel) && owner !== undefined && owner !== current ? [{ channel, owner, current }] : [];
    });
    for (const { channel, owner } of changes) this.route.set(channel, owner);
    const names = (list: typeof changes) => list.map((change) => change.channel);
    const movedConfirmed: string[] = [];
    for (const [name, moving] of Map.groupBy(changes, (change) => change.current)) {
      if (name === undefined) continue;
      const list = names(moving);
      const node = this.nodes.get(name);
      // A channel that was confirmed on its old node and now moves counts as lost until confirmed again.
      for (const channel of list) {
        if (!node?.confirmed.has(channel)) continue;
        this.lostChannels.add(channel);
        movedConfirmed.push(channel);
      }
      node?.remove(list);
    }
    if (movedConfirmed.length > 0) this.on.lost(movedConfirmed);
    for (const [name, joining] of Map.groupBy(changes, (change) => change.owner)) {
      const [host, port] = [name.slice(0, name.lastIndexOf(':')), Number(name.slice(name.lastIndexOf(':') + 1))];
      this.node(name, { host, port }).add(names(joining));
    }
    // A node that owns none of the wanted channels (a dead primary, say) is let go.
    for (const [name, node] of this.nodes) {
      if (node.wanted.size === 0) {
        node.close();
        this.nodes.delete(name);
      }
    }
    this.update();
  }

  /** Reads the slot map (CLUSTER SLOTS) and routes every wanted channel by it. */
  private reroute(): Promise<void> {
    if (!this.target.cluster || this.closed) return Promise.resolve();
    this.rerouting ??= (async () => {
      try {
        this.lastRouted = Date.now();
        const slots = await withTimeout(clusterSlots(this.commands()), 2_000, 'CLUSTER SLOTS did not answer within 2 s');
        const owners = new Array<string>(16_384);
        for (const { first, last, primary } of slots) owners.fill(primary, first, last + 1);
        this.owners = owners;
        this.routeError = null;
        this.assign([...this.wanted]);
      } catch (error) {
        this.routeError = `cannot read the cluster's slot map: ${(error as Error).message}`;
      } finally {
        this.rerouting = null;
      }
    })();
    return this.rerouting;
  }
}
