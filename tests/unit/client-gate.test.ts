import { describe, expect, it } from 'vitest';
import { acceptProfile, adoptEpoch, newer, seedRendered, shownVersions, type Profile } from '@/components/profile-store';

const at = (username: string, version: number, likes = version * 10): Profile => ({
  username,
  displayName: username,
  bio: '',
  followers: 0,
  followings: 0,
  likes,
  version,
  updatedAt: '2026-11-28T00:00:00.000Z',
});

describe('the client version gate', () => {
  it('newer() takes a newer version and keeps what it shows otherwise', () => {
    expect(newer(at('a', 3), at('a', 4))).toEqual(at('a', 4));
    expect(newer(at('a', 4), at('a', 3))).toEqual(at('a', 4));
    expect(newer(at('a', 4), at('a', 4, 99))).toEqual(at('a', 4));
    expect(newer(undefined, at('a', 1))).toEqual(at('a', 1));
  });

  it('starts from the version the server rendered: an older first event never replaces it', () => {
    adoptEpoch('e1');
    seedRendered(at('rendered', 10), 'e1');
    expect(acceptProfile(at('rendered', 9))).toBe(false);
    expect(shownVersions(['rendered'])).toEqual({ rendered: 10 });
    expect(acceptProfile(at('rendered', 11))).toBe(true);
    expect(shownVersions(['rendered'])).toEqual({ rendered: 11 });
  });

  it("takes a POST's committed row like any other value, and never goes back after it", () => {
    expect(acceptProfile(at('clicker', 5))).toBe(true);
    expect(acceptProfile(at('clicker', 4))).toBe(false);
    expect(acceptProfile(at('clicker', 5))).toBe(false);
  });

  it('after a new epoch (a reset moved versions back) takes the next value of each profile once, whatever its version', () => {
    adoptEpoch('e1');
    acceptProfile(at('reset', 40));
    adoptEpoch('e2');
    expect(shownVersions(['reset'])).toEqual({});
    expect(acceptProfile(at('reset', 2))).toBe(true);
    expect(acceptProfile(at('reset', 1))).toBe(false);
    expect(shownVersions(['reset'])).toEqual({ reset: 2 });
  });

  it('a render from another epoch than the tab holds is replaced by the next value', () => {
    adoptEpoch('e3');
    seedRendered(at('stale_render', 8), 'e_other');
    expect(acceptProfile(at('stale_render', 3))).toBe(true);
  });
});
