import type pg from 'pg';

// Where the worker hears of changes, recorded in the database itself: the
// notify trigger enabled means `notify`, disabled means `logical` (the version
// trigger stays either way). A worker makes the database match its
// CHANGE_SOURCE when it starts, under an advisory lock, in an order that never
// leaves a moment with neither source: the slot exists before the trigger goes
// off, and the trigger is back on before the slot goes.

export type ChangeSource = 'notify' | 'logical';

export const PUBLICATION = 'ripple_changes';
// profiles for the rows; profile_tombstones for the version a DELETE removed
// (its trigger writes it in the same transaction, and the DELETE itself carries
// only the key); cache_epoch_counter for a reset (cache_epoch_advance()).
export const PUBLISHED_TABLES = ['profiles', 'profile_tombstones', 'cache_epoch_counter'] as const;
const NOTIFY_TRIGGER = 'profiles_notify';
const LOCK = "hashtext('ripple-change-source')";

/** A setup problem a person fixes; logged as its message alone, never as a stack trace. */
export class ChangeSourceError extends Error {
  override name = 'ChangeSourceError';
}

/** Slots are cluster-wide, databases are not: one slot per database, named after it. */
export function slotName(databaseUrl: string): string {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres';
  return `ripple_${database.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

function where(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || 5432}`;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Throws a ChangeSourceError that says exactly what to change when this server cannot feed a slot. */
export async function assertLogicalReady(client: Queryable, databaseUrl: string): Promise<void> {
  const { rows } = await client.query<{ wal_level: string; can: boolean; role: string }>(
    `SELECT current_setting('wal_level') AS wal_level, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can`,
  );
  const { wal_level: level, can, role } = rows[0];
  if (level !== 'logical') {
    throw new ChangeSourceError(
      `CHANGE_SOURCE=logical needs wal_level=logical, and PostgreSQL at ${where(databaseUrl)} has wal_level=${level}. ` +
        `Fix: run \`ALTER SYSTEM SET wal_level = logical;\` as a superuser (psql ${databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}), then restart PostgreSQL ` +
        '(e.g. `sudo systemctl restart postgresql`); or set CHANGE_SOURCE=notify, which needs neither.',
    );
  }
  if (!can) {
    throw new ChangeSourceError(
      `CHANGE_SOURCE=logical needs a role that may replicate, and "${role}" may not. Fix: \`ALTER ROLE "${role}" REPLICATION;\` as a superuser, or set CHANGE_SOURCE=notify.`,
    );
  }
}

export type SlotState = { name: string; exists: boolean; active: boolean; activePid: number | null; lagBytes: number | null; walStatus: string | null; confirmedLsn: string | null };

export async function readSlot(client: Queryable, slot: string): Promise<SlotState> {
  const { rows } = await client.query<{ active: boolean; active_pid: number | null; lag: string | null; wal_status: string | null; confirmed: string | null }>(
    `SELECT active, active_pid, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint AS lag, wal_status, confirmed_flush_lsn::text AS confirmed
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  return row
    ? { name: slot, exists: true, active: row.active, activePid: row.active_pid, lagBytes: row.lag === null ? null : Math.max(0, Number(row.lag)), walStatus: row.wal_status, confirmedLsn: row.confirmed }
    : { name: slot, exists: false, active: false, activePid: null, lagBytes: null, walStatus: null, confirmedLsn: null };
}

/** 'notify' while the notify trigger fires, 'logical' once a worker turned it off. */
export async function recordedSource(client: Queryable): Promise<ChangeSource> {
  const { rows } = await client.query<{ enabled: string }>(
    "SELECT tgenabled AS enabled FROM pg_trigger WHERE tgrelid = 'profiles'::regclass AND tgname = $1",
    [NOTIFY_TRIGGER],
  );
  return rows[0]?.enabled === 'D' ? 'logical' : 'notify';
}

async function withLock<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK})`);
    try {
      return await work(client);
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK})`);
    }
  } finally {
    client.release();
  }
}

async function ensurePublication(client: Queryable): Promise<void> {
  const { rows } = await client.query<{ tables: string[] }>(
    'SELECT coalesce(array_agg(tablename::text), ARRAY[]::text[]) AS tables FROM pg_publication_tables WHERE pubname = $1',
    [PUBLICATION],
  );
  const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [PUBLICATION]);
  if (!rowCount) {
    await client.query(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${PUBLISHED_TABLES.join(', ')}`);
    return;
  }
  const missing = PUBLISHED_TABLES.filter((table) => !rows[0].tables.includes(table));
  if (missing.length) await client.query(`ALTER PUBLICATION ${PUBLICATION} ADD TABLE ${missing.join(', ')}`);
}

/** Creates the slot unless it exists; true when this call created it (the cache then needs a full resync). */
export async function ensureSlot(client: Queryable, slot: string): Promise<boolean> {
  if ((await readSlot(client, slot)).exists) return false;
  try {
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    return true;
  } catch (error) {
    // Another worker created it first.
    if ((error as { code?: string }).code === '42710') return false;
    throw error;
  }
}

export type SwitchResult = { source: ChangeSource; slot: string; slotCreated: boolean; switched: boolean; slotDropped: boolean; slotBusy: number | null };

/**
 * Makes the database use this source. logical: publication, then slot, then
 * the notify trigger off. notify: the trigger on, then the slot dropped (if
 * no worker still streams from it; otherwise the caller says how to drop it).
 */
export async function switchChangeSource(pool: pg.Pool, { source, databaseUrl }: { source: ChangeSource; databaseUrl: string }): Promise<SwitchResult> {
  const slot = slotName(databaseUrl);
  return withLock(pool, async (client) => {
    const before = await recordedSource(client);
    const result: SwitchResult = { source, slot, slotCreated: false, switched: before !== source, slotDropped: false, slotBusy: null };
    if (source === 'logical') {
      await assertLogicalReady(client, databaseUrl);
      await ensurePublication(client);
      result.slotCreated = await ensureSlot(client, slot);
      if (before !== 'logical') await client.query(`ALTER TABLE profiles DISABLE TRIGGER ${NOTIFY_TRIGGER}`);
      return result;
    }
    if (before !== 'notify') await client.query(`ALTER TABLE profiles ENABLE TRIGGER ${NOTIFY_TRIGGER}`);
    Object.assign(result, await dropIdleSlot(client, slot));
    return result;
  });
}

/** Drops the slot unless a walsender holds it; says which PID holds it otherwise. */
export async function dropIdleSlot(client: Queryable, slot: string): Promise<{ slotDropped: boolean; slotBusy: number | null }> {
  const state = await readSlot(client, slot);
  if (!state.exists) return { slotDropped: false, slotBusy: null };
  if (state.active) return { slotDropped: false, slotBusy: state.activePid };
  try {
    await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    return { slotDropped: true, slotBusy: null };
  } catch (error) {
    // Taken meanwhile (55006), or dropped by another worker (42704).
    if (['55006', '42704'].includes((error as { code?: string }).code ?? '')) return { slotDropped: false, slotBusy: null };
    throw error;
  }
}
