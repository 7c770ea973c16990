import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HubMessage, HubState } from '@/components/live/protocol';
import { StreamHub, type EventSourceLike } from '@/components/live/stream-hub';

// The browser's shared hub, driven with a stand-in EventSource: what it asks
// the server for, and what it tells the tabs. The e2e suite runs it for real.

class FakeSource implements EventSourceLike {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  private readonly listeners = new Map<string, Array<(event: MessageEvent<string>) => void>>();

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = 2;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  emit(type: string, data: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ data: JSON.stringify(data) } as MessageEvent<string>);
  }

  /** What the server sends first on every stream: epoch, snapshot, pipeline. */
  start(epoch: string, snapshot: object[] = []): void {
    this.open();
    this.emit('epoch', { epoch });
    for (const profile of snapshot) this.emit('profile', profile);
    this.emit('pipeline', { live: true });
  }
}

const profile = (username: string, version: number) => ({
  username,
  displayName: username,
  bio: '',
  followers: 0,
  followings: 0,
  likes: version,
  version,
  updatedAt: '2026-11-29T00:00:00.000Z',
});

let sources: FakeSource[];
let messages: HubMessage[];
let states: HubState[];
let hub: StreamHub;

beforeEach(() => {
  vi.useFakeTimers();
  sources = [];
  messages = [];
  states = [];
  hub = new StreamHub({
    mode: 'shared-worker',
    openStream: (url) => {
      const source = new FakeSource(url);
      sources.push(source);
      return source;
    },
    broadcast: (message) => messages.push(message),
    publishState: (state) => states.push(state),
  });
});

afterEach(() => {
  hub.close();
  vi.useRealTimers();
});

const open = () => sources.filter((source) => source.readyState !== 2);
const query = (source: FakeSource) => decodeURIComponent(source.url.slice('/stream?'.length));

describe('the shared stream hub', () => {
  it('opens one stream for the union of what the tabs watch, once the burst of watches settles', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    hub.watch({ tabId: 'b', usernames: ['bob', 'alice'], versions: {}, epoch: null });
    expect(sources).toHaveLength(0);
    vi.advanceTimersByTime(30);
    expect(sources.map(query)).toEqual(['u=alice&u=bob']);
  });

  it('relays snapshot values as not fresh and later changes as fresh, each version once', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    sources[0].start('e1', [profile('alice', 3)]);
    sources[0].emit('profile', profile('alice', 4));
    sources[0].emit('profile', profile('alice', 4));
    sources[0].emit('profile', profile('alice', 2));
    const relayed = messages.filter((message) => message.type === 'profile');
    expect(relayed).toEqual([
      { type: 'profile', profile: profile('alice', 3), fresh: false },
      { type: 'profile', profile: profile('alice', 4), fresh: true },
    ]);
    expect(states.at(-1)).toMatchObject({ connection: 'live', epoch: 'e1', streams: 1, pipeline: { live: true } });
  });

  it('asks only for what it lacks when a tab adds a profile, and keeps the old stream until the new snapshot is out', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    sources[0].start('e1', [profile('alice', 5)]);
    hub.watch({ tabId: 'b', usernames: ['carol'], versions: {}, epoch: 'e1' });
    vi.advanceTimersByTime(30);
    expect(sources.map(query)).toEqual(['u=alice', 'u=alice@5&u=carol']);
    expect(open()).toHaveLength(2);
    // A change that reaches only the old stream during the hand-over still counts.
    sources[0].emit('profile', profile('alice', 6));
    sources[1].start('e1', [profile('alice', 6), profile('carol', 1)]);
    expect(open().map(query)).toEqual(['u=alice@5&u=carol']);
    expect(messages.filter((message) => message.type === 'profile').map((message) => message.type === 'profile' && `${message.profile.username}@${message.profile.version}`)).toEqual([
      'alice@5',
      'alice@6',
      'carol@1',
    ]);
  });

  it('replays what it holds to a tab that shows an older version, and nothing to one that is current', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    sources[0].start('e1', [profile('alice', 7)]);
    messages = [];
    hub.watch({ tabId: 'b', usernames: ['alice'], versions: { alice: 7 }, epoch: 'e1' });
    expect(messages).toEqual([]);
    hub.watch({ tabId: 'c', usernames: ['alice'], versions: { alice: 6 }, epoch: 'e1' });
    expect(messages).toEqual([{ type: 'profile', profile: profile('alice', 7), fresh: false }]);
  });

  it('tells a tab from another epoch to start over before replaying', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    sources[0].start('e2', [profile('alice', 2)]);
    messages = [];
    hub.watch({ tabId: 'b', usernames: ['alice'], versions: { alice: 9 }, epoch: 'e1' });
    expect(messages).toEqual([
      { type: 'epoch', epoch: 'e2' },
      { type: 'profile', profile: profile('alice', 2), fresh: false },
    ]);
  });

  it('forgets every version when the epoch changes, and reconnects without versions that belong to the old one', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    sources[0].start('e1', [profile('alice', 9)]);
    hub.watch({ tabId: 'a', usernames: ['alice', 'bob'], versions: {}, epoch: 'e1' });
    vi.advanceTimersByTime(30);
    expect(query(sources[1])).toBe('u=alice@9&u=bob');
    // The database was reset: the stream that asked from version 9 would skip alice's new version 2.
    sources[1].open();
    sources[1].emit('epoch', { epoch: 'e2' });
    vi.advanceTimersByTime(1);
    expect(messages).toContainEqual({ type: 'epoch', epoch: 'e2' });
    expect(query(sources[2])).toBe('u=alice&u=bob');
    sources[2].start('e2', [profile('alice', 2), profile('bob', 1)]);
    expect(messages.at(-2)).toEqual({ type: 'profile', profile: profile('alice', 2), fresh: false });
  });

  it('splits more than 50 profiles over streams of at most 50', () => {
    const names = Array.from({ length: 60 }, (_, index) => `user${String(index).padStart(2, '0')}`);
    hub.watch({ tabId: 'a', usernames: names, versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    expect(sources.map((source) => query(source).split('&').length)).toEqual([50, 10]);
  });

  it('forgets a tab that misses a roll call, and narrows the stream', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    hub.watch({ tabId: 'b', usernames: ['bob'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    vi.advanceTimersByTime(20_000);
    expect(messages).toContainEqual({ type: 'roll-call' });
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(20_000);
    expect(hub.union()).toEqual(['alice']);
    vi.advanceTimersByTime(30);
    sources.at(-1)?.start('e1');
    expect(open().map(query)).toEqual(['u=alice']);
  });

  it('retries with back-off when the server refuses the stream (EventSource gives up on an HTTP error)', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    sources[0].readyState = 2;
    sources[0].onerror?.(new Event('error'));
    vi.advanceTimersByTime(999);
    expect(sources).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sources).toHaveLength(2);
    sources[1].readyState = 2;
    sources[1].onerror?.(new Event('error'));
    vi.advanceTimersByTime(1_999);
    expect(sources).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sources).toHaveLength(3);
    expect(states.at(-1)?.connection).toBe('reconnecting');
  });

  it('closes its streams when the last tab leaves', () => {
    hub.watch({ tabId: 'a', usernames: ['alice'], versions: {}, epoch: null });
    vi.advanceTimersByTime(30);
    hub.bye('a');
    vi.advanceTimersByTime(30);
    expect(open()).toHaveLength(0);
  });
});
