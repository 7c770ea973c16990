import { describe, expect, it } from 'vitest';
import type { CacheEpoch, Missing } from '@/lib/cache/profile-cache';
import { profileFrame } from '@/lib/live/frames';
import type { LiveListener } from '@/lib/live/hub';
import { openProfileStream } from '@/lib/live/profile-stream';
import { parseStreamQuery } from '@/lib/live/stream-query';
import type { Profile } from '@/lib/profile';

// The stream's own rules, with a hub and a lookup standing in for Redis and
// Postgres (the integration suite runs the same paths against both).

const profile = (username: string, version: number, likes = version): Profile => ({
  username, displayName: username, bio: '', followers: 0, followings: 0, likes, version, updatedAt: '2026-01-01T00:00:00.000Z',
});

type Lookup = { profiles: Profile[]; missing: Missing[] };

function fakeHub(epoch = 'e1') {
  let listener: LiveListener | undefined;
  return {
    get listener() {
      return listener!;
    },
    listen: (_usernames: string[] | null, l: LiveListener) => ((listener = l), () => (listener = undefined)),
    ready: async () => undefined,
    epoch: async () => epoch,
    pipelineState: () => ({ live: true }) as const,
  };
}

/** Reads everything the stream has sent so far, as [event, data] pairs. */
async function collect(reader: ReadableStreamDefaultReader<Uint8Array>, into: Array<[string, unknown]>) {
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = block.match(/^event: (.*)$/m)?.[1];
        const data = block.match(/^data: (.*)$/m)?.[1];
        if (event && data) into.push([event, JSON.parse(data)]);
      }
    }
  };
  void pump();
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

async function open(query: string, lookups: Array<Lookup | Promise<Lookup>>, hub = fakeHub()) {
  const calls: string[][] = [];
  const lookup = async ({ usernames }: { usernames: string[] }) => {
    calls.push(usernames);
    return lookups.shift()!;
  };
  const abort = new AbortController();
  const stream = await openProfileStream({ query: parseStreamQuery(new URLSearchParams(query)), signal: abort.signal, hub, lookup });
  const events: Array<[string, unknown]> = [];
  await collect(stream.getReader(), events);
  await tick();
  return { hub, events, calls, abort };
}

describe('a stream of named profiles', () => {
  it('opens with epoch, the snapshot (only what is newer than the shown version), unknown, then pipeline', async () => {
    const { events } = await open('u=alice@3&u=bob@3&u=nobody', [
      { profiles: [profile('alice', 3), profile('bob', 4)], missing: [{ username: 'nobody', version: 0, missing: true }] },
    ]);
    expect(events).toEqual([
      ['epoch', { epoch: 'e1' }],
      ['profile', profile('bob', 4)],
      ['unknown', { usernames: ['nobody'] }],
      ['pipeline', { live: true }],
    ]);
  });

  it('ignores the shown versions when the client says they belong to another epoch', async () => {
    const { events } = await open('u=alice@3&epoch=e0', [{ profiles: [profile('alice', 3)], missing: [] }]);
    expect(events.map(([event]) => event)).toEqual(['epoch', 'profile', 'pipeline']);
  });

  it('a deletion at v sends unknown; a late v is dropped; the row created again at v+1 comes through', async () => {
    const { hub, events } = await open('u=alice', [{ profiles: [profile('alice', 5)], missing: [] }]);
    hub.listener.onDeleted('alice', 5);
    hub.listener.onChange(profileFrame(profile('alice', 5)), profile('alice', 5));
    hub.listener.onChange(profileFrame(profile('alice', 6)), profile('alice', 6));
    await tick();
    expect(events.slice(1).filter(([event]) => event !== 'pipeline')).toEqual([
      ['profile', profile('alice', 5)],
      ['unknown', { usernames: ['alice'] }],
      ['profile', profile('alice', 6)],
    ]);
  });

  it('a new epoch: the epoch event, then a whole fresh snapshot that may go back in version; older-epoch changes are gone', async () => {
    const { hub, events, calls } = await open('u=alice@2', [
      { profiles: [profile('alice', 9)], missing: [] },
      { profiles: [profile('alice', 1, 100)], missing: [] },
    ]);
    hub.listener.onEpoch({ epoch: 'e2', generation: 2 } as CacheEpoch);
    await tick();
    expect(calls).toHaveLength(2);
    expect(events.slice(-2)).toEqual([
      ['epoch', { epoch: 'e2' }],
      ['profile', profile('alice', 1, 100)],
    ]);
    // The same epoch again changes nothing.
    hub.listener.onEpoch({ epoch: 'e2', generation: 3 } as CacheEpoch);
    await tick();
    expect(calls).toHaveLength(2);
  });

  it('a snapshot read under an epoch that ended meanwhile is dropped, not sent after the new epoch', async () => {
    let release!: (value: Lookup) => void;
    const slow = new Promise<Lookup>((resolve) => (release = resolve));
    const { hub, events } = await open('u=alice', [{ profiles: [profile('alice', 9)], missing: [] }, slow, { profiles: [profile('alice', 1)], missing: [] }]);
    hub.listener.onResubscribed();
    hub.listener.onEpoch({ epoch: 'e2', generation: 2 } as CacheEpoch);
    release({ profiles: [profile('alice', 10)], missing: [] });
    await tick();
    expect(events.slice(-2)).toEqual([
      ['epoch', { epoch: 'e2' }],
      ['profile', profile('alice', 1)],
    ]);
    expect(events.some(([, data]) => (data as Profile).version === 10)).toBe(false);
  });

  it('a fresh snapshot after the subscription came back reports a profile deleted meanwhile', async () => {
    const { hub, events } = await open('u=alice', [
      { profiles: [profile('alice', 5)], missing: [] },
      { profiles: [], missing: [{ username: 'alice', version: 5, missing: true }] },
    ]);
    hub.listener.onResubscribed();
    await tick();
    expect(events.at(-1)).toEqual(['unknown', { usernames: ['alice'] }]);
  });

  it('every named profile unknown: a 404 problem naming them, and nothing left listening', async () => {
    const hub = fakeHub();
    const lookup = async () => ({ profiles: [], missing: [{ username: 'ghost', version: 0, missing: true as const }] });
    const error = await openProfileStream({ query: parseStreamQuery(new URLSearchParams('u=ghost')), signal: new AbortController().signal, hub, lookup }).catch((e) => e);
    expect(error.toResponse().status).toBe(404);
    expect(await error.toResponse().json()).toMatchObject({ type: 'urn:ripple:problem:not-found', usernames: ['ghost'] });
    expect(hub.listener).toBeUndefined();
  });

  it('pipeline events only when the state changes', async () => {
    const { hub, events } = await open('u=alice', [{ profiles: [profile('alice', 1)], missing: [] }]);
    hub.listener.onPipeline({ live: true });
    hub.listener.onPipeline({ live: false, reason: 'why' });
    hub.listener.onPipeline({ live: false, reason: 'why' });
    hub.listener.onPipeline({ live: true });
    await tick();
    expect(events.filter(([event]) => event === 'pipeline').map(([, data]) => data)).toEqual([{ live: true }, { live: false, reason: 'why' }, { live: true }]);
  });
});

describe('a stream of every profile', () => {
  it('keeps no per-profile state while the client keeps up', async () => {
    const { hub, events } = await open('', []);
    for (let i = 0; i < 1_000; i += 1) hub.listener.onChange(profileFrame(profile(`user${i}`, 1)), profile(`user${i}`, 1));
    await tick();
    expect(events.filter(([event]) => event === 'profile')).toHaveLength(1_000);
  });

  it('is closed, so the client reconnects, once it falls 10,000 profiles behind', async () => {
    const hub = fakeHub();
    const stream = await openProfileStream({ query: null, signal: new AbortController().signal, hub });
    const reader = stream.getReader();
    for (let i = 0; i <= 10_100; i += 1) hub.listener?.onChange(profileFrame(profile(`user${i}`, 1)), profile(`user${i}`, 1));
    let done = false;
    let frames = 0;
    while (!done) {
      const next = await reader.read();
      done = next.done;
      if (!done) frames += 1;
    }
    expect(frames).toBeLessThan(10_000);
  });
});

describe('a stream whose client is already gone', () => {
  it('opens nothing and leaves no listener', async () => {
    const hub = fakeHub();
    const abort = new AbortController();
    abort.abort();
    let released = 0;
    const stream = await openProfileStream({ query: null, signal: abort.signal, hub, onClose: () => (released += 1) });
    expect(released).toBe(1);
    expect(hub.listener).toBeUndefined();
    expect((await stream.getReader().read()).done).toBe(true);
  });
});
