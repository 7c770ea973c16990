import { describe, expect, it } from 'vitest';
import { parseDeltas } from '@/app/v1/profile/[username]/schema';
import { ProblemError } from '@/lib/http/problem';

function rejection(body: unknown): ProblemError {
  try {
    parseDeltas(body);
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(body)} to be rejected`);
}

describe('parseDeltas', () => {
  it.each([
    [{ likes: 1 }],
    [{ followers: -1000, followings: 1000 }],
    [{ followers: 3, followings: -2 }],
  ])('accepts %j', (body) => {
    expect(parseDeltas(body)).toEqual(body);
  });

  it.each([
    ['an empty object', {}, 'name at least one'],
    ['an unknown field', { likes: 1, retweets: 2 }, 'unknown field "retweets"'],
    ['a float', { likes: 1.5 }, 'likes must be an integer'],
    ['a string', { likes: '1' }, 'likes must be an integer'],
    ['null', { likes: null }, 'likes must be an integer'],
    ['a value over 1000', { likes: 1001 }, 'likes must be at most 1000'],
    ['a value under -1000', { followers: -1001 }, 'followers must be at least -1000'],
    ['an integer past 2^53', { likes: 2 ** 53 + 2 }, 'likes must be'],
    ['an array', [1], 'must be a JSON object'],
    ['a number', 5, 'must be a JSON object'],
    ['null body', null, 'must be a JSON object'],
    ['a zero delta', { likes: 0 }, 'likes must not be 0'],
    ['minus zero', JSON.parse('{"likes": -0}'), 'likes must not be 0'],
    ['a number that JSON reads as zero', JSON.parse('{"likes": 1e-400}'), 'likes must not be 0'],
    ['a zero beside a real change', { followers: 3, followings: -2, likes: 0 }, 'likes must not be 0'],
  ])('rejects %s with 422', (_name, body, reason) => {
    const error = rejection(body);
    expect(error.code).toBe('invalid-body');
    expect(error.toResponse().status).toBe(422);
    expect(error.message).toContain(reason);
  });
});
