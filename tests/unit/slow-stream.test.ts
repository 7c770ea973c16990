import { describe, expect, it } from 'vitest';
import { LatestFrames } from '@/lib/live/latest-frames';
import type { LiveListener } from '@/lib/live/hub';
import { profileFrame } from '@/lib/live/frames';
import type { Profile } from '@/lib/profile';
import { openProfileStream } from '@/lib/live/profile-stream';

const profile = (username: string, version: number): Profile => ({
  username, displayName: username, bio: '', followers: 0, followings: 0, likes: version, version, updatedAt: '2026-01-01T00:00:00.000Z',
});

const frameText = (frame: Uint8Array) => new TextDecoder().decode(frame);

describe('LatestFrames', () => {
  it('keeps only the newest frame per profile, oldest-waiting profile first', () => {
    const latest = new LatestFrames();
    latest.put(profileFrame(profile('alice', 1)), profile('alice', 1));
    latest.put(profileFrame(profile('bob', 1)), profile('bob', 1));
    latest.put(profileFrame(profile('alice', 3)), profile('alice', 3));
    latest.put(profileFrame(profile('alice', 2)), profile('alice', 2));
    const out: string[] = [];
    latest.drain(() => true, (frame) => out.push(frameText(frame)));
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('"username":"bob"');
    expect(out[1]).toContain('"version":3');
    expect(latest.size).toBe(0);
  });

  it('stops when there is no room and keeps the rest', () => {
    const latest = new LatestFrames();
    for (const name of ['a', 'b', 'c']) latest.put(profileFrame(profile(name, 1)), profile(name, 1));
    let room = 2;
    const out: Uint8Array[] = [];
    latest.drain(() => room-- > 0, (frame) => out.push(frame));
    expect(out).toHaveLength(2);
    expect(latest.size).toBe(1);
  });
});

describe('a stream whose client reads slowly', () => {
  it('stays open, holds one frame per profile, and delivers the newest value when the client reads', async () => {
    let listener: LiveListener | undefined;
    const hub = {
      listen: (_usernames: string[] | null, l: LiveListener) => ((listener = l), () => (listener = undefined)),
      ready: async () => undefined,
      epoch: async () => 'e1',
      pipelineState: () => ({ live: true }) as const,
    };
    const abort = new AbortController();
    const stream = await openProfileStream({ query: null, signal: abort.signal, hub });
    const reader = stream.getReader();
    await new Promise((resolve) => setImmediate(resolve));
    // 20,000 changes (about 5 MB of frames) arrive while the client reads nothing.
    for (let version = 1; version <= 10_000; version += 1) {
      for (const name of ['alice', 'bob']) listener!.onChange(profileFrame(profile(name, version)), profile(name, version));
    }
    const received: string[] = [];
    let text = '';
    while (!text.includes('"username":"alice","displayName":"alice","bio":"","followers":0,"followings":0,"likes":10000') ||
      !text.includes('"username":"bob","displayName":"bob","bio":"","followers":0,"followings":0,"likes":10000')) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream closed on a slow client');
      text += frameText(value);
      received.push(frameText(value));
    }
    // Only what fit in the queue plus one newest frame per profile: far from 20,000.
    expect(received.length).toBeLessThan(200);
    expect(listener).toBeDefined();
    abort.abort();
    await reader.cancel();
  });
});
