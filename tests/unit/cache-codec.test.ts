import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeProfile, encodeProfile } from '@/lib/cache/profile-cache';
import type { Profile } from '@/lib/profile';

const alice: Profile = {
  username: 'alice',
  displayName: 'Alice Martin',
  bio: 'Émoji ✓ and "quotes"',
  followers: 10,
  followings: 2,
  likes: 0,
  version: 7,
  updatedAt: '2026-11-28T04:31:50.770Z',
};

describe('cache codec', () => {
  it('round-trips a profile exactly', () => {
    expect(decodeProfile(encodeProfile(alice))).toEqual(alice);
  });

  it.each([
    ['nothing cached', null],
    ['an empty string', ''],
    ['broken JSON', '{"username":'],
    ['a negative counter', JSON.stringify({ ...alice, likes: -1 })],
    ['a missing version', JSON.stringify({ ...alice, version: undefined })],
    ['an invalid username', JSON.stringify({ ...alice, username: 'Alice' })],
  ])('treats %s as a miss', (_name, text) => {
    expect(decodeProfile(text)).toBeNull();
  });
});

describe('messages on the profile channel', () => {
  it('a profile, with the generation it was written under first', () => {
    const text = `{"generation":1795996090828,${encodeProfile(alice).slice(1)}`;
    expect(decodeMessage(text)).toEqual({ generation: 1795996090828, profile: alice });
    // Stored the same way: the cached text decodes as the profile alone.
    expect(decodeProfile(text)).toEqual(alice);
  });

  it('a deletion with the version it deleted', () => {
    expect(decodeMessage('{"generation":5,"username":"alice","version":7,"deleted":true}')).toEqual({ generation: 5, deleted: { username: 'alice', version: 7 } });
  });

  it('a profile from a worker older than the epoch (a rolling upgrade) has no generation', () => {
    expect(decodeMessage(encodeProfile(alice))).toEqual({ generation: null, profile: alice });
  });

  it.each(['', 'nope', '{"generation":5,"deleted":true}', '{"generation":"5","username":"alice"}', JSON.stringify({ ...alice, likes: -1 })])('ignores %s', (text) => {
    expect(decodeMessage(text)).toBeNull();
  });
});
