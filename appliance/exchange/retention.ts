import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { MessageQueue } from '../queue/queue.js';
import { pruneRejections } from '../audit/exchange-audit.js';
import type { GatewayConfig } from '../config/config.js';
import type { ReplayWindow } from './pipeline.js';

export interface ExchangeRetention {
  /** Finished queue rows (their raw data went long ago) are deleted after this. */
  readonly queueMs: number;
  /** The operators' rejection list; the audit log keeps the security events for its own two years. */
  readonly rejectionsMs: number;
  readonly replayWindow: ReplayWindow;
}

/**
 * Retention of the exchange's working storage, run daily by the daemon. What the replay check needs is
 * kept exactly as long as it can matter: a signed digest until its signing time has left the window (an
 * older copy is refused for its time anyway), one without a signing time as long as queue rows are kept.
 */
export function pruneExchange(db: Db, queue: MessageQueue, r: ExchangeRetention, now: Date): { inbox: number; outbox: number; rejections: number; seen: number } {
  migrateSchema(db);
  return db.transaction(() => {
    const { inbox, outbox } = queue.prune(new Date(now.getTime() - r.queueMs));
    const rejections = pruneRejections(db, new Date(now.getTime() - r.rejectionsMs));
    const signedBefore = now.getTime() - r.replayWindow.pastMs - r.replayWindow.futureMs;
    const unsignedBefore = now.getTime() - Math.max(r.queueMs, r.replayWindow.pastMs);
    const seen =
      statement(db, 'DELETE FROM exchange_signed_seen WHERE (signed_at IS NOT NULL AND signed_at < ? AND seen_at < ?) OR (signed_at IS NULL AND seen_at < ?)').run(
        signedBefore,
        signedBefore,
        unsignedBefore,
      ).changes + statement(db, 'DELETE FROM exchange_requests_seen WHERE seen_at < ?').run(unsignedBefore).changes;
    return { inbox, outbox, rejections, seen };
  })();
}

/** The replay window of the configuration (exchange.replayWindow). */
export function replayWindowOf(config: GatewayConfig): ReplayWindow {
  return { pastMs: config.exchange.replayWindow.pastHours * 3_600_000, futureMs: config.exchange.replayWindow.futureMinutes * 60_000 };
}

/** The retention of the configuration (exchange.retentionDays). */
export function exchangeRetention(config: GatewayConfig): ExchangeRetention {
  const days = config.exchange.retentionDays;
  return { queueMs: days.queue * 86_400_000, rejectionsMs: days.rejections * 86_400_000, replayWindow: replayWindowOf(config) };
}
