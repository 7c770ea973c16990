import { describe, expect, it } from 'vitest';
import { MAX_STREAM_USERNAMES, parseStreamQuery } from '@/lib/live/stream-query';
import { ProblemError } from '@/lib/http/problem';

const query = (text: string) => parseStreamQuery(new URLSearchParams(text));

describe('parseStreamQuery', () => {
  it('means every profile when no u is given', () => {
    expect(query('')).toBeNull();
  });

  it('keeps each named profile once', () => {
    expect(query('u=alice&u=bob&u=alice')).toEqual({ usernames: ['alice', 'bob'], shown: new Map(), epoch: null });
  });

  it('reads the version the client shows after @; the smallest (or none) wins for a name given twice', () => {
    expect(query('u=alice@12&u=bob')?.shown).toEqual(new Map([['alice', 12]]));
    expect(query('u=alice@12&u=alice@3')).toEqual({ usernames: ['alice'], shown: new Map([['alice', 3]]), epoch: null });
    expect(query('u=alice&u=alice@3')?.shown).toEqual(new Map());
    expect(query('u=alice@3&u=alice')?.shown).toEqual(new Map());
  });

  it('takes the epoch the versions belong to', () => {
    expect(query('u=alice@2&epoch=7713.1.16786.16787.0')?.epoch).toBe('7713.1.16786.16787.0');
  });

  it.each(['u=Alice', 'u=', 'u=al%00ice', 'u=..%2F', `u=${'a'.repeat(16)}`, "u=a'--", 'u=alice@', 'u=alice@0', 'u=alice@-1', 'u=alice@1.5', 'u=alice@1e3', 'u=alice@012', 'u=alice@99999999999999999', 'u=alice@1@2', 'u=alice&epoch=a%20b', 'u=alice&epoch=a&epoch=b'])('rejects %s with 422', (text) => {
    expect(() => query(text)).toThrow(ProblemError);
    try {
      query(text);
    } catch (error) {
      expect((error as ProblemError).toResponse().status).toBe(422);
    }
  });

  it(`allows ${MAX_STREAM_USERNAMES} names and refuses one more; the same name twice counts once`, () => {
    const names = Array.from({ length: MAX_STREAM_USERNAMES + 1 }, (_, index) => `u=user${index}`);
    expect(query(names.slice(0, MAX_STREAM_USERNAMES).join('&'))?.usernames).toHaveLength(MAX_STREAM_USERNAMES);
    expect(query([...names.slice(0, MAX_STREAM_USERNAMES), 'u=user0@4'].join('&'))?.usernames).toHaveLength(MAX_STREAM_USERNAMES);
    expect(() => query(names.join('&'))).toThrow(/at most 50/);
  });

  it('bounds how often u may repeat', () => {
    expect(query(Array.from({ length: 200 }, () => 'u=alice').join('&'))?.usernames).toEqual(['alice']);
    expect(() => query(Array.from({ length: 201 }, () => 'u=alice').join('&'))).toThrow(/at most 200 times/);
  });
});
