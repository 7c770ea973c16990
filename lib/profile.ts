import { z } from 'zod';

// Twitter handle rules; profiles are stored lowercase.
export const USERNAME_PATTERN = /^[a-z0-9_]{1,15}$/;

export const COUNTERS = ['followers', 'followings', 'likes'] as const;
export type Counter = (typeof COUNTERS)[number];

export const COUNTER_LABELS: Record<Counter, string> = {
  followers: 'Followers',
  followings: 'Following',
  likes: 'Likes',
};

export const MAX_DELTA = 1000;

export type Profile = {
  username: string;
  displayName: string;
  bio: string;
  followers: number;
  followings: number;
  likes: number;
  version: number;
  updatedAt: string;
};

export type Deltas = Partial<Record<Counter, number>>;

export function isValidUsername(value: string): boolean {
  return USERNAME_PATTERN.test(value);
}

const count = z.number().int().nonnegative();

// Guards what comes back from Redis or the wire before it reaches a screen.
export const profileSchema = z.object({
  username: z.string().regex(USERNAME_PATTERN),
  displayName: z.string(),
  bio: z.string(),
  followers: count,
  followings: count,
  likes: count,
  version: z.number().int().positive(),
  updatedAt: z.string(),
});
