import { profileSchema, type Profile } from '../lib/profile';

/** What a notification on profile_changes says (db/migrations/0001 and 0005). */
export type Change =
  | { kind: 'profile'; profile: Profile }
  /** The row at this version was deleted; null from a trigger older than migration 0005. */
  | { kind: 'deleted'; username: string; version: number | null }
  /** TRUNCATE, or a worker found versions moved back: the database's epoch changed. */
  | { kind: 'reset' };

export function parseNotification(payload: string): Change | null {
  try {
    const value = JSON.parse(payload) as { deleted?: unknown; username?: unknown; version?: unknown; reset?: unknown };
    if (value.reset === true) return { kind: 'reset' };
    if (value.deleted === true && typeof value.username === 'string') {
      return { kind: 'deleted', username: value.username, version: typeof value.version === 'number' ? value.version : null };
    }
    const parsed = profileSchema.safeParse(value);
    return parsed.success ? { kind: 'profile', profile: parsed.data } : null;
  } catch {
    return null;
  }
}
