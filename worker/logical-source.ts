import type pg from 'pg';
import { dropIdleSlot, ensureSlot, PUBLICATION, readSlot, slotName, switchChangeSource } from '../lib/change-source';
import { logger } from '../lib/logger';
import type { SlotStatus } from '../lib/ops/workers';
import type { CacheWriter } from './cache-writer';
import { workerMetrics } from './metrics';
import { lsnToBigInt } from './slot-changes';
import { streamForever } from './replication';

type Hooks = {
  /** The cache follows the slot: caught up, and resynced when that was needed. */
  onReady: () => void;
  onLost: (reason: string) => void;
};

/**
 * CHANGE_SOURCE=logical: switches the database over once (publication, slot,
 * notify trigger off), then streams the slot into the cache writer. On every
 * (re)connect it resumes from the slot's confirmed position; it resyncs the
 * whole table only when that cannot be enough: the slot was just created, or
 * the cache has a new epoch (a flushed or new Redis, a reset).
 */
export class LogicalSource {
  readonly slot: string;
  private role: SlotStatus['role'] = 'connecting';
  /** Commit times of the transactions received and not yet confirmed, oldest first. */
  private unconfirmed: number[] = [];
  private switched = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: CacheWriter,
    private readonly databaseUrl: string,
  ) {
    this.slot = slotName(databaseUrl);
  }

  run({ heartbeatMs, signal, onReady, onLost }: { heartbeatMs: number; signal: AbortSignal } & Hooks): Promise<void> {
    let resynced = true;
    let caughtUp = false;
    const readyIfBoth = () => {
      if (resynced && caughtUp) onReady();
    };
    return streamForever({
      connectionString: this.databaseUrl,
      slot: this.slot,
      publication: PUBLICATION,
      heartbeatMs,
      signal,
      prepare: async () => {
        let created: boolean;
        if (!this.switched) {
          const result = await switchChangeSource(this.pool, { source: 'logical', databaseUrl: this.databaseUrl });
          this.switched = true;
          created = result.slotCreated;
          if (result.switched) logger.info({ slot: this.slot }, `worker: switched the database to CHANGE_SOURCE=logical (notify trigger off, publication ${PUBLICATION}, slot ${this.slot})`);
        } else {
          created = await ensureSlot(this.pool, this.slot);
        }
        let state = await readSlot(this.pool, this.slot);
        if (state.walStatus === 'lost') {
          // Past max_slot_wal_keep_size: Postgres removed WAL the slot still
          // needed, so it can never stream again. A new slot and a full resync
          // stand in for what is gone.
          logger.warn({ slot: this.slot }, `worker: replication slot ${this.slot} lost WAL it needed (max_slot_wal_keep_size); dropping it, creating it again and resyncing the whole table`);
          await dropIdleSlot(this.pool, this.slot);
          created = await ensureSlot(this.pool, this.slot);
          state = await readSlot(this.pool, this.slot);
        }
        if (created) logger.info({ slot: this.slot }, `worker: created replication slot ${this.slot}; resyncing the whole table once`);
        const { rows } = await this.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
        const epochChanged = await this.writer.followEpoch();
        caughtUp = false;
        resynced = !(created || epochChanged);
        if (!resynced) {
          void this.writer.resync(created ? 'a new replication slot' : 'the cache follows a new epoch').then(() => {
            resynced = true;
            readyIfBoth();
          });
        }
        this.unconfirmed = [];
        return { confirmed: state.confirmedLsn ? lsnToBigInt(state.confirmedLsn) : 0n, target: lsnToBigInt(rows[0].lsn) };
      },
      onTransaction: (transaction) => {
        this.unconfirmed.push(transaction.commitTime);
        return this.writer.applyTransaction(transaction);
      },
      onConfirmed: (transaction) => {
        if (transaction) this.unconfirmed.shift();
      },
      onStreaming: () => {
        this.role = 'streaming';
      },
      onCaughtUp: ({ transactions, ms }) => {
        logger.info({ transactions, ms, slot: this.slot }, `worker: caught up with slot ${this.slot}: ${transactions} transactions in ${ms} ms`);
        caughtUp = true;
        readyIfBoth();
      },
      onWaiting: () => {
        this.role = 'standby';
        onLost('another worker streams from the slot');
      },
      onLost: (reason) => {
        this.role = 'connecting';
        onLost(reason);
      },
    });
  }

  /** The slot as the status page, /healthz and /metrics show it; never throws. */
  async status(): Promise<SlotStatus> {
    const lagMs = this.role === 'streaming' ? (this.unconfirmed.length ? Math.max(0, Date.now() - this.unconfirmed[0]) : 0) : null;
    let lagBytes: number | null = null;
    let walStatus: string | null = null;
    try {
      const state = await readSlot(this.pool, this.slot);
      lagBytes = state.lagBytes;
      walStatus = state.walStatus;
    } catch {
      // Postgres is down: reported elsewhere.
    }
    workerMetrics.slotLagBytes().set(lagBytes ?? 0);
    workerMetrics.slotLagSeconds().set((lagMs ?? 0) / 1000);
    return { name: this.slot, role: this.role, lagBytes, lagMs, walStatus };
  }
}
