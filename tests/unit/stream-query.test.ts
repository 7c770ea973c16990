import { describe, expect, it } from 'vitest';
import { MAX_STREAM_USERNAMES, parseStreamQuery } from '@/lib/live/profile-stream';
import { ProblemError } from '@/lib/http/problem';

const query = (text: string) => parseStreamQuery(new URLSearchParams(text));

describe('parseStreamQuery', () => {
  it('means every profile when no u is given', () => {
    expect(query('')).toBeNull();
  });

  it('keeps each named profile once', () => {
    expect(query('u=alice&u=bob&u=alice')).toEqual(['alice', 'bob']);
  });

  it.each(['u=Alice', 'u=', 'u=al%00ice', 'u=..%2F', `u=${'a'.repeat(16)}`, "u=a'--"])('rejects %s with 422', (text) => {
    expect(() => query(text)).toThrow(ProblemError);
  });

  it(`allows ${MAX_STREAM_USERNAMES} profiles and refuses one more`, () => {
    const names = Array.from({ length: MAX_STREAM_USERNAMES + 1 }, (_, index) => `u=user${index}`);
    expect(query(names.slice(0, MAX_STREAM_USERNAMES).join('&'))).toHaveLength(MAX_STREAM_USERNAMES);
    expect(() => query(names.join('&'))).toThrow(/at most 50/);
  });
});
