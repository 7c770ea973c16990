import { describe, expect, it } from 'vitest';
import { newer, type Profile } from '@/components/profile-store';

const at = (version: number, likes: number): Profile => ({
  username: 'alice',
  displayName: 'Alice',
  bio: '',
  followers: 0,
  followings: 0,
  likes,
  version,
  updatedAt: '2026-11-28T00:00:00.000Z',
});

describe('the client version gate', () => {
  it('takes a newer version', () => {
    expect(newer(at(3, 30), at(4, 40))).toEqual(at(4, 40));
  });

  it('keeps what it shows when the event is older or the same version', () => {
    expect(newer(at(4, 40), at(3, 30))).toEqual(at(4, 40));
    expect(newer(at(4, 40), at(4, 99))).toEqual(at(4, 40));
  });

  it('takes anything when it shows nothing yet', () => {
    expect(newer(undefined, at(1, 1))).toEqual(at(1, 1));
  });
});
