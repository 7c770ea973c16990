import type { Profile } from '@/lib/profile';
import type { Connection, HubApi, HubMessage, HubMode, HubState, Pipeline, Watch } from './protocol';

/** The part of EventSource the hub uses, so tests can hand it a stand-in. */
export type EventSourceLike = {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
};

export type StreamHubOptions = {
  mode: HubMode;
  /** To every tab (the hub's own included). */
  broadcast(message: HubMessage): void;
  publishState(state: HubState): void;
  openStream(url: string): EventSourceLike;
  /** The server's limit of names per stream (design.md). */
  maxNamesPerStream?: number;
  /** Tabs open and navigate in bursts: one new stream for the burst, not one per tab. */
  settleMs?: number;
  /** How long a replaced stream stays open if its successor never says its snapshot is out. */
  handoverMs?: number;
  rollCallMs?: number;
};

const CLOSED = 2;

type Stream = {
  source: EventSourceLike;
  names: string[];
  /** The epoch whose versions the URL's `@version`s are, or null when the URL has none. */
  urlEpoch: string | null;
  everOpen: boolean;
  /** The snapshot is out (the server's `pipeline` event follows it): later events are changes. */
  snapshotDone: boolean;
  seen: Set<string>;
};

type TabEntry = { usernames: Set<string>; versions: Record<string, number>; heard: number };

/**
 * One browser's live connection, shared by all its tabs. It watches the union
 * of what the tabs show over as few streams as the server allows (one, up to
 * 50 profiles), follows the tabs as they come, navigate and go, and relays
 * every event to all tabs; each tab keeps its own version gate.
 *
 * When the union changes, the new stream names only what this hub does not
 * already hold at its newest version (`u=name@version`), so the server
 * snapshots just the profiles that were added. The old stream stays open
 * until the new one has sent its snapshot, so nothing falls in the gap.
 */
export class StreamHub implements HubApi {
  readonly id = Math.random().toString(36).slice(2, 10);
  private readonly tabs = new Map<string, TabEntry>();
  /** The newest value of every profile a stream has brought, in the current epoch. */
  private readonly known = new Map<string, Profile>();
  private epoch: string | null = null;
  private pipeline: Pipeline = { live: true, reason: null };
  private streams: Stream[] = [];
  private retiring: Stream[] = [];
  private streamedKey = '';
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = 1_000;
  private rollCalls = 0;
  private readonly rollCallTimer: ReturnType<typeof setInterval>;
  private closed = false;
  private lastState = '';

  constructor(private readonly options: StreamHubOptions) {
    this.rollCallTimer = setInterval(() => this.rollCall(), options.rollCallMs ?? 20_000);
    this.publish();
  }

  watch({ tabId, usernames, versions, epoch }: Watch): void {
    if (this.closed) return;
    this.tabs.set(tabId, { usernames: new Set(usernames), versions, heard: this.rollCalls });
    // A tab that holds another epoch's data must forget it before it is sent this one's.
    if (this.epoch !== null && epoch !== this.epoch) this.options.broadcast({ type: 'epoch', epoch: this.epoch });
    for (const username of usernames) {
      const profile = this.known.get(username);
      const shown = epoch === this.epoch ? (versions[username] ?? 0) : 0;
      if (profile && profile.version > shown) this.options.broadcast({ type: 'profile', profile, fresh: false });
    }
    this.schedule();
  }

  bye(tabId: string): void {
    if (this.tabs.delete(tabId)) this.schedule();
  }

  ping(): string {
    return this.id;
  }

  /** Stops everything: this hub no longer leads. */
  close(): void {
    this.closed = true;
    clearTimeout(this.settleTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.rollCallTimer);
    for (const stream of [...this.streams, ...this.retiring]) stream.source.close();
    this.streams = [];
    this.retiring = [];
  }

  /** The names every tab watches, for tests and the debug view. */
  union(): string[] {
    const names = new Set<string>();
    for (const tab of this.tabs.values()) for (const name of tab.usernames) names.add(name);
    return [...names].sort();
  }

  private schedule(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.restream(), this.options.settleMs ?? 25);
  }

  private rollCall(): void {
    // Tabs that did not answer the previous roll call are gone (closed, crashed or frozen);
    // a frozen tab that wakes sends its watch again.
    for (const [tabId, tab] of this.tabs) if (tab.heard < this.rollCalls) this.tabs.delete(tabId);
    this.rollCalls += 1;
    this.options.broadcast({ type: 'roll-call' });
    this.schedule();
  }

  /** Opens the streams for the current union, unless they already carry exactly it. */
  private restream(force = false): void {
    if (this.closed) return;
    const names = this.union();
    const key = names.join(',');
    if (!force && key === this.streamedKey && this.streams.every((stream) => stream.source.readyState !== CLOSED)) return;
    clearTimeout(this.retryTimer);
    this.streamedKey = key;
    this.retiring.push(...this.streams);
    const size = this.options.maxNamesPerStream ?? 50;
    this.streams = [];
    for (let start = 0; start < names.length; start += size) this.streams.push(this.open(names.slice(start, start + size)));
    if (this.streams.length === 0) this.closeRetiring();
    else setTimeout(() => this.closeRetiring(), this.options.handoverMs ?? 2_000);
    this.publish();
  }

  private open(names: string[]): Stream {
    const withVersions = this.epoch !== null && names.some((name) => this.known.has(name));
    const query = names.map((name) => {
      const known = withVersions ? this.known.get(name) : undefined;
      return `u=${encodeURIComponent(known ? `${name}@${known.version}` : name)}`;
    });
    const source = this.options.openStream(`/stream?${query.join('&')}`);
    const stream: Stream = { source, names, urlEpoch: withVersions ? this.epoch : null, everOpen: false, snapshotDone: false, seen: new Set() };
    const current = () => this.streams.includes(stream);
    source.onopen = () => {
      stream.everOpen = true;
      this.retryMs = 1_000;
      this.publish();
    };
    source.onerror = () => {
      // CONNECTING: EventSource retries by itself. CLOSED: the server refused
      // (404, 429, 503...) and EventSource gives up, so the hub retries, backing off.
      if (source.readyState === CLOSED && current()) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.restream(true), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 30_000);
      }
      this.publish();
    };
    source.addEventListener('epoch', (event) => this.onEpoch(stream, parse<{ epoch: string }>(event)?.epoch));
    source.addEventListener('profile', (event) => {
      const profile = parse<Profile>(event);
      if (!profile) return;
      // A snapshot names each profile once: a second event for it on this stream is a change.
      this.onProfile(profile, stream.snapshotDone || stream.seen.has(profile.username));
      stream.seen.add(profile.username);
    });
    source.addEventListener('unknown', (event) => {
      const usernames = parse<{ usernames: string[] }>(event)?.usernames ?? [];
      for (const username of usernames) this.known.delete(username);
      if (usernames.length) this.options.broadcast({ type: 'unknown', usernames });
    });
    source.addEventListener('pipeline', (event) => {
      stream.snapshotDone = true;
      const pipeline = parse<Pipeline>(event);
      if (pipeline && current()) this.pipeline = { live: pipeline.live === true, reason: pipeline.reason ?? null };
      if (this.streams.every((each) => each.snapshotDone)) this.closeRetiring();
      this.publish();
    });
    return stream;
  }

  private onEpoch(stream: Stream, epoch: string | undefined): void {
    if (!epoch) return;
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.known.clear();
      this.options.broadcast({ type: 'epoch', epoch });
      this.publish();
    }
    // The URL's versions belong to an older epoch: the server would skip every
    // profile whose new version is not above them, so ask again without them.
    if (stream.urlEpoch !== null && stream.urlEpoch !== epoch && this.streams.includes(stream)) {
      setTimeout(() => this.restream(true), 0);
    }
  }

  private onProfile(profile: Profile, fresh: boolean): void {
    const known = this.known.get(profile.username);
    if (known && known.version >= profile.version) return;
    this.known.set(profile.username, profile);
    this.options.broadcast({ type: 'profile', profile, fresh });
  }

  private closeRetiring(): void {
    for (const stream of this.retiring) stream.source.close();
    this.retiring = [];
  }

  private connection(): Connection {
    if (this.streams.length === 0) return this.tabs.size ? 'connecting' : 'live';
    if (this.streams.every((stream) => stream.source.readyState === 1)) return 'live';
    return this.streams.some((stream) => stream.everOpen) || this.retryMs > 1_000 ? 'reconnecting' : 'connecting';
  }

  private publish(): void {
    const state: HubState = {
      hubId: this.id,
      mode: this.options.mode,
      connection: this.connection(),
      pipeline: this.pipeline,
      epoch: this.epoch,
      streams: this.streams.length,
    };
    const text = JSON.stringify(state);
    if (text === this.lastState) return;
    this.lastState = text;
    this.options.publishState(state);
  }
}

function parse<T>(event: MessageEvent<string>): T | null {
  try {
    return JSON.parse(event.data) as T;
  } catch {
    return null;
  }
}
