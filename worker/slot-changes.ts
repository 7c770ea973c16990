import type { Pgoutput } from 'pg-logical-replication';
import { profileSchema, type Profile } from '../lib/profile';
import type { Change } from './notifications';

/** One committed transaction from the slot, in the worker's terms. */
export type SlotTransaction = {
  changes: Change[];
  /** Profiles whose row came with an unchanged TOASTed value (a large column): read again from Postgres. */
  reread: string[];
  /** When it committed (ms since the epoch), for the lag in time. */
  commitTime: number;
  /** Where its commit record ends: confirmed once every change in it is in Redis. */
  endLsn: bigint;
};

export const lsnToBigInt = (lsn: string): bigint => {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
};

export const bigIntToLsn = (value: bigint): string => `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;

/** '2026-11-30 12:34:56.123456+00' (TimeZone UTC, DateStyle ISO) as profile_json() writes it: '2026-11-30T12:34:56.123Z'. */
export function isoMillis(text: string): string | null {
  const match = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?\+00$/.exec(text);
  if (!match) return null;
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

/**
 * The profile a published row stands for, exactly as profile_json() would
 * write it; null when a column is missing (an unchanged TOASTed value, which
 * pgoutput does not resend) or the row is not a profile.
 */
export function profileFromRow(row: Record<string, unknown>): Profile | null {
  const { username, display_name, bio, followers, followings, likes, version, updated_at } = row as Record<string, string | null | undefined>;
  const values = [username, display_name, bio, followers, followings, likes, version, updated_at];
  if (values.some((value) => value === undefined || value === null)) return null;
  const updatedAt = isoMillis(updated_at!);
  if (!updatedAt) return null;
  const parsed = profileSchema.safeParse({
    username,
    displayName: display_name,
    bio,
    followers: Number(followers),
    followings: Number(followings),
    likes: Number(likes),
    version: Number(version),
    updatedAt,
  });
  return parsed.success ? parsed.data : null;
}

const RAW = (raw: unknown) => raw;

/**
 * Turns pgoutput messages into committed transactions. Within a transaction a
 * DELETE of a profile carries only its key; the version it removed comes from
 * the same transaction's write to profile_tombstones (migration 0002's
 * trigger). TRUNCATE, or a change of cache_epoch_counter, is a reset.
 */
export class TransactionAssembler {
  private open: { changes: Change[]; reread: Set<string>; deleted: string[]; tombstones: Map<string, number>; reset: boolean; commitTime: number } | null = null;

  /** Between BEGIN and COMMIT: a keepalive's position says nothing about this transaction yet. */
  get inTransaction(): boolean {
    return this.open !== null;
  }

  /** Returns the transaction when this message completes one. */
  accept(message: Pgoutput.Message): SlotTransaction | null {
    switch (message.tag) {
      case 'relation':
        // Raw text for every column: the conversions are ours (bigint as a
        // number, the timestamp as profile_json() writes it), not the driver's globals.
        for (const column of message.columns) column.parser = RAW;
        return null;
      case 'begin':
        this.open = { changes: [], reread: new Set(), deleted: [], tombstones: new Map(), reset: false, commitTime: Number((message.commitTime as bigint) / 1000n) };
        return null;
      case 'insert':
      case 'update':
        this.row(message.relation.name, message.new);
        return null;
      case 'delete': {
        const key = (message.key ?? message.old) as { username?: string } | null;
        if (message.relation.name === 'profiles' && key?.username) this.open?.deleted.push(key.username);
        return null;
      }
      case 'truncate':
        if (this.open && message.relations.some((relation) => relation?.name === 'profiles' || relation?.name === 'cache_epoch_counter')) this.open.reset = true;
        return null;
      case 'commit':
        return this.commit(message);
      default:
        return null;
    }
  }

  private row(table: string, row: Record<string, unknown>): void {
    const open = this.open;
    if (!open) return;
    if (table === 'profiles') {
      const profile = profileFromRow(row);
      if (profile) open.changes.push({ kind: 'profile', profile });
      else if (typeof row.username === 'string') open.reread.add(row.username);
    } else if (table === 'profile_tombstones' && typeof row.username === 'string') {
      open.tombstones.set(row.username, Number(row.version));
    } else if (table === 'cache_epoch_counter') {
      open.reset = true;
    }
  }

  private commit(message: Pgoutput.MessageCommit): SlotTransaction | null {
    const open = this.open;
    this.open = null;
    if (!open || !message.commitEndLsn) return null;
    const changes: Change[] = open.reset ? [{ kind: 'reset' }] : open.changes;
    if (!open.reset) {
      // A row created again in the same transaction comes after its deletion in
      // the gate's order (version v+1 after the deletion at v), so order is kept.
      for (const username of open.deleted) {
        const version = open.tombstones.get(username);
        changes.push({ kind: 'deleted', username, version: version ?? null });
      }
    }
    return { changes, reread: open.reset ? [] : [...open.reread], commitTime: open.commitTime, endLsn: lsnToBigInt(message.commitEndLsn) };
  }
}
