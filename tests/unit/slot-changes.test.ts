import { describe, expect, it } from 'vitest';
import type { Pgoutput } from 'pg-logical-replication';
import { slotName } from '@/lib/change-source';
import { bigIntToLsn, isoMillis, lsnToBigInt, profileFromRow, TransactionAssembler } from '@/worker/slot-changes';

const relation = (name: string): Pgoutput.MessageRelation => ({ tag: 'relation', relationOid: name.length, schema: 'public', name, replicaIdentity: 'default', columns: [], keyColumns: [] });
const row = (over: Record<string, string | undefined> = {}) => ({
  username: 'alice',
  display_name: 'Alice',
  bio: 'hi',
  followers: '10',
  followings: '2',
  likes: '9007199254740',
  version: '7',
  updated_at: '2026-11-30 12:34:56.123456+00',
  ...over,
});
const begin = (): Pgoutput.Message => ({ tag: 'begin', commitLsn: '0/10', commitTime: 1_796_000_000_123_456n, xid: 1 });
const commit = (end: string): Pgoutput.Message => ({ tag: 'commit', flags: 0, commitLsn: '0/10', commitEndLsn: end, commitTime: 1_796_000_000_123_456n });

describe('a replicated row as profile_json() writes it', () => {
  it('keeps the milliseconds profile_json() keeps (truncated, never rounded), and rejects a zone other than UTC', () => {
    expect(isoMillis('2026-11-30 12:34:56.123999+00')).toBe('2026-11-30T12:34:56.123Z');
    expect(isoMillis('2026-11-30 12:34:56.5+00')).toBe('2026-11-30T12:34:56.500Z');
    expect(isoMillis('2026-11-30 12:34:56+00')).toBe('2026-11-30T12:34:56.000Z');
    expect(isoMillis('2026-11-30 12:34:56.1+02')).toBeNull();
  });

  it('builds the public shape, in profile_json() order, with numbers for bigints', () => {
    expect(JSON.stringify(profileFromRow(row()))).toBe(
      '{"username":"alice","displayName":"Alice","bio":"hi","followers":10,"followings":2,"likes":9007199254740,"version":7,"updatedAt":"2026-11-30T12:34:56.123Z"}',
    );
  });

  it('has nothing to say when a column was not sent (an unchanged TOASTed value)', () => {
    expect(profileFromRow(row({ bio: undefined }))).toBeNull();
  });
});

describe('pgoutput messages become committed transactions', () => {
  it('a delete takes its version from the same transaction’s tombstone; the commit ends at its end LSN', () => {
    const assembler = new TransactionAssembler();
    expect(assembler.accept(begin())).toBeNull();
    expect(assembler.inTransaction).toBe(true);
    assembler.accept({ tag: 'update', relation: relation('profiles'), key: null, old: null, new: row() });
    assembler.accept({ tag: 'insert', relation: relation('profile_tombstones'), new: { username: 'bob', version: '12' } });
    assembler.accept({ tag: 'delete', relation: relation('profiles'), key: { username: 'bob' }, old: null });
    const done = assembler.accept(commit('1/A0'))!;
    expect(assembler.inTransaction).toBe(false);
    expect(done.endLsn).toBe(lsnToBigInt('1/A0'));
    expect(done.commitTime).toBe(1_796_000_000_123);
    expect(done.changes).toEqual([
      { kind: 'profile', profile: profileFromRow(row()) },
      { kind: 'deleted', username: 'bob', version: 12 },
    ]);
  });

  it('a delete without a tombstone (triggers off) has no version, so the worker resyncs', () => {
    const assembler = new TransactionAssembler();
    assembler.accept(begin());
    assembler.accept({ tag: 'delete', relation: relation('profiles'), key: { username: 'bob' }, old: null });
    expect(assembler.accept(commit('0/20'))!.changes).toEqual([{ kind: 'deleted', username: 'bob', version: null }]);
  });

  it('TRUNCATE, or a change of the epoch counter, makes the whole transaction a reset', () => {
    for (const message of [
      { tag: 'truncate', cascade: false, restartIdentity: false, relations: [relation('profiles')] },
      { tag: 'update', relation: relation('cache_epoch_counter'), key: null, old: null, new: { id: 't', resets: '3' } },
    ] as Pgoutput.Message[]) {
      const assembler = new TransactionAssembler();
      assembler.accept(begin());
      assembler.accept({ tag: 'insert', relation: relation('profiles'), new: row() });
      assembler.accept(message);
      expect(assembler.accept(commit('0/30'))!.changes).toEqual([{ kind: 'reset' }]);
    }
  });

  it('a row missing a large column is read again rather than guessed', () => {
    const assembler = new TransactionAssembler();
    assembler.accept(begin());
    assembler.accept({ tag: 'update', relation: relation('profiles'), key: null, old: null, new: row({ bio: undefined }) });
    const done = assembler.accept(commit('0/40'))!;
    expect(done.changes).toEqual([]);
    expect(done.reread).toEqual(['alice']);
  });

  it('reads every column as raw text, whatever the driver would parse', () => {
    const assembler = new TransactionAssembler();
    const message = { ...relation('profiles'), columns: [{ name: 'updated_at', flags: 0, typeOid: 1184, typeMod: -1, typeSchema: null, typeName: null, parser: (raw: unknown): unknown => new Date(String(raw)) }] };
    assembler.accept(message);
    expect(message.columns[0].parser('2026-11-30 12:34:56.1+00')).toBe('2026-11-30 12:34:56.1+00');
  });
});

describe('names and positions', () => {
  it('LSNs round-trip, and one less is the byte before', () => {
    expect(bigIntToLsn(lsnToBigInt('16/B374D848'))).toBe('16/B374D848');
    expect(bigIntToLsn(lsnToBigInt('1/0') - 1n)).toBe('0/FFFFFFFF');
  });

  it('one slot per database, named after it, within 63 characters', () => {
    expect(slotName('postgres://postgres@localhost:5432/ripple')).toBe('ripple_ripple');
    expect(slotName('postgres://u@h/My-App')).toBe('ripple_my_app');
    expect(slotName(`postgres://u@h/${'x'.repeat(80)}`)).toHaveLength(63);
  });
});
