'use client';

import { Tab } from 'tab-election';
import { acceptProfile, adoptEpoch, currentEpoch, shownVersions } from '../profile-store';
import { leadWhenElected } from './hub-host';
import { HUB_CHANNEL, type HubMessage, type HubMode, type HubState, type Watch } from './protocol';
import { StreamHub } from './stream-hub';

export type Badge = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'paused';
/** The last change this tab saw arrive, and how long after its commit. */
export type Arrival = { username: string; version: number; ms: number };
export type LiveView = {
  badge: Badge;
  /** Why the badge is not "live", in a sentence for the person reading the page. */
  reason: string | null;
  mode: HubMode | null;
  arrival: Arrival | null;
  /** Watched names the server says do not exist (deleted while shown). */
  unknown: readonly string[];
};

const CONNECTING: LiveView = { badge: 'connecting', reason: null, mode: null, arrival: null, unknown: [] };
const OFFLINE_REASON = 'This device is offline, so the numbers here may be out of date; they catch up when the connection is back.';
const LOST_REASON = 'Lost the live connection; reconnecting. The numbers here may be out of date until it is back.';
// A hub (worker or leader tab) that answers no ping this long is taken for stuck.
const PING_EVERY_MS = 2_000;
const PING_TIMEOUT_MS = 1_500;

/**
 * This tab's end of the browser's one live connection. Components say what
 * they show; the client tells the hub, takes the hub's events for those
 * profiles through the tab's version gate, and keeps a view for the badges.
 *
 * Where the hub runs, best first: a SharedWorker (one per browser, freezes
 * with no tab); else the tab elected leader with a Web Lock (tab-election),
 * relaying over BroadcastChannel; else, where neither API exists, this tab
 * alone. A visible tab whose hub stops answering runs a stream of its own
 * until the hub is back, so it never sits deaf behind a frozen leader.
 */
class LiveClient {
  private readonly counts = new Map<string, number>();
  private readonly tabId = Math.random().toString(36).slice(2, 12);
  private readonly listeners = new Set<() => void>();
  private readonly delivered = new Map<string, number>();
  private view: LiveView = CONNECTING;
  private tab: Tab<HubState> | null = null;
  private worker: SharedWorker | null = null;
  private hubState: HubState | null = null;
  private lastHubId: string | null = null;
  /** This tab's own hub: the only one where tabs cannot share, else a stand-in while the shared one is stuck. */
  private own: { hub: StreamHub; state: HubState | null } | null = null;
  private mode: HubMode | null = null;
  private unknown = new Set<string>();
  private arrival: Arrival | null = null;
  private watchQueued = false;
  private misses = 0;
  private ping: Promise<boolean> | null = null;

  constructor() {
    const canShare = typeof BroadcastChannel !== 'undefined' && typeof navigator !== 'undefined' && Boolean(navigator.locks);
    if (!canShare) {
      this.mode = 'own-tab';
      this.startOwnHub('own-tab');
    } else {
      this.joinSharedHub();
    }
    addEventListener('online', () => this.refresh());
    addEventListener('offline', () => this.refresh());
    // A tab back from the background (or out of the back/forward cache) says
    // again what it shows, and the hub replays anything newer.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.queueWatch();
        void this.checkHub();
      }
    });
    addEventListener('pageshow', () => this.queueWatch());
    addEventListener('pagehide', () => void this.tab?.call('bye', this.tabId).catch(() => undefined));
  }

  /** Shows these profiles until the returned function is called. */
  watch(usernames: string[]): () => void {
    for (const username of usernames) this.counts.set(username, (this.counts.get(username) ?? 0) + 1);
    this.queueWatch();
    return () => {
      for (const username of usernames) {
        const left = (this.counts.get(username) ?? 1) - 1;
        if (left > 0) this.counts.set(username, left);
        else this.counts.delete(username);
      }
      this.queueWatch();
    };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getView = (): LiveView => this.view;

  /** For tests and the curious: what this tab watches and has been handed. */
  debug() {
    return {
      mode: this.own && this.mode !== 'own-tab' ? `${this.mode} (own stand-in)` : this.mode,
      leader: this.tab?.isLeader ?? false,
      watching: [...this.counts.keys()].sort(),
      delivered: Object.fromEntries(this.delivered),
      hub: this.own?.state ?? this.hubState,
    };
  }

  private joinSharedHub(): void {
    const tab = new Tab<HubState>(HUB_CHANNEL);
    this.tab = tab;
    tab.addEventListener('message', (event) => this.onMessage(event.data as HubMessage));
    tab.addEventListener('state', (event) => this.onHubState(event.data as HubState));
    let candidate = false;
    const standForLeader = () => {
      if (candidate) return;
      candidate = true;
      void leadWhenElected(tab, 'leader-tab');
    };
    if (typeof SharedWorker !== 'undefined') {
      try {
        this.worker = new SharedWorker(new URL('./shared-worker.ts', import.meta.url), { name: HUB_CHANNEL });
        this.worker.onerror = standForLeader;
      } catch {
        standForLeader();
      }
      // Tabs queue behind the worker, so whichever context dies, the next in
      // line leads at once; if the worker never starts, this tab leads.
      const workerLeads = new Promise((resolve) => tab.addEventListener('state', resolve, { once: true }));
      void Promise.race([workerLeads, new Promise((resolve) => setTimeout(resolve, 1_000))]).then(standForLeader);
    } else {
      standForLeader();
    }
    setInterval(() => void this.checkHub(), PING_EVERY_MS);
  }

  /** Pings the hub while this tab is visible; a stuck hub gets a stand-in stream in this tab. */
  private async checkHub(): Promise<void> {
    if (!this.tab || document.visibilityState !== 'visible' || this.tab.isLeader) return;
    // tab-election re-sends an unanswered call every 500 ms until it is answered:
    // one ping in flight at a time, or a stuck hub would gather a crowd of them.
    let answered = false;
    if (!this.ping) {
      const ping = this.tab.call<string>('ping').then(
        () => true,
        () => false,
      );
      this.ping = ping;
      void ping.finally(() => {
        if (this.ping === ping) this.ping = null;
      });
      answered = await Promise.race([ping, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), PING_TIMEOUT_MS))]);
    }
    if (answered) {
      this.misses = 0;
      if (this.own) {
        this.own.hub.close();
        this.own = null;
        this.refresh();
      }
      return;
    }
    this.misses += 1;
    if (this.misses >= 2 && !this.own) this.startOwnHub(this.mode ?? 'own-tab');
    this.refresh();
  }

  private startOwnHub(mode: HubMode): void {
    const own: { hub: StreamHub; state: HubState | null } = { hub: null as unknown as StreamHub, state: null };
    own.hub = new StreamHub({
      mode,
      openStream: (url) => new EventSource(url),
      broadcast: (message) => this.onMessage(message),
      publishState: (state) => {
        own.state = state;
        this.refresh();
      },
    });
    this.own = own;
    this.queueWatch();
  }

  private onHubState(state: HubState): void {
    this.hubState = state;
    this.mode = state.mode;
    // A new hub knows nothing yet: tell it what this tab shows.
    if (state.hubId !== this.lastHubId) {
      this.lastHubId = state.hubId;
      this.queueWatch();
    }
    this.refresh();
  }

  private onMessage(message: HubMessage): void {
    switch (message.type) {
      case 'profile': {
        const { profile } = message;
        if (!this.counts.has(profile.username)) return;
        this.delivered.set(profile.username, (this.delivered.get(profile.username) ?? 0) + 1);
        this.unknown.delete(profile.username);
        const accepted = acceptProfile(profile);
        // The clicking tab often has this version already, from its own POST's answer:
        // the stream's copy still says how long the change took to travel.
        const current = accepted || shownVersions([profile.username])[profile.username] === profile.version;
        if (!message.fresh || !current) return;
        // updatedAt is the database clock inside the UPDATE; this is the browser's.
        const ms = Date.now() - Date.parse(profile.updatedAt);
        if (Number.isFinite(ms)) this.arrival = { username: profile.username, version: profile.version, ms };
        this.refresh();
        return;
      }
      case 'epoch':
        adoptEpoch(message.epoch);
        return;
      case 'unknown':
        for (const username of message.usernames) if (this.counts.has(username)) this.unknown.add(username);
        this.refresh();
        return;
      case 'roll-call':
        this.queueWatch();
    }
  }

  private queueWatch(): void {
    if (this.watchQueued) return;
    this.watchQueued = true;
    // Components mount and unmount together on a navigation: one watch for the lot.
    setTimeout(() => {
      this.watchQueued = false;
      const usernames = [...this.counts.keys()];
      const watch: Watch = { tabId: this.tabId, usernames, versions: shownVersions(usernames), epoch: currentEpoch() };
      this.own?.hub.watch(watch);
      void this.tab?.call('watch', watch).catch(() => undefined);
    }, 10);
  }

  private refresh(): void {
    const state = this.own?.state ?? this.hubState;
    let badge: Badge;
    let reason: string | null = null;
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      badge = 'offline';
      reason = OFFLINE_REASON;
    } else if (this.misses >= 2 && !this.own?.state) {
      badge = 'reconnecting';
      reason = LOST_REASON;
    } else if (!state || state.connection === 'connecting') {
      badge = 'connecting';
    } else if (state.connection === 'reconnecting') {
      badge = 'reconnecting';
      reason = LOST_REASON;
    } else if (!state.pipeline.live) {
      badge = 'paused';
      reason = state.pipeline.reason ?? 'Live updates are paused.';
    } else {
      badge = 'live';
    }
    const unknown = [...this.unknown].filter((username) => this.counts.has(username)).sort();
    const next: LiveView = { badge, reason, mode: this.mode, arrival: this.arrival, unknown };
    if (JSON.stringify(next) === JSON.stringify(this.view)) return;
    this.view = next;
    for (const listener of this.listeners) listener();
  }
}

let client: LiveClient | null = null;

/** The tab's one live client (browser only). */
export function liveClient(): LiveClient {
  if (!client) {
    client = new LiveClient();
    (globalThis as unknown as { rippleLive?: unknown }).rippleLive = client;
  }
  return client;
}

export const SERVER_VIEW: LiveView = CONNECTING;
