import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { Channel, MemberStateCode } from '../peers/member-states.js';
import type { LinkState, PeerLinkStatus } from '../status/types.js';

/**
 * Link state per peer and channel, kept in SQLite so it survives a restart. A link is up when
 * the last event on it was a success (relay accepted our mail, or a verified message came from
 * the peer), degraded while a temporary failure is being retried, down after a permanent
 * failure or when the relay refuses the peer's domain.
 */
export class LinkTracker {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {
    migrateSchema(db);
  }

  success(state: MemberStateCode, channel: Channel): void {
    statement(
      this.db,
      `INSERT INTO exchange_links (state, channel, last_success, failing) VALUES (?, ?, ?, NULL)
       ON CONFLICT (state, channel) DO UPDATE SET last_success = excluded.last_success, failing = NULL`,
    )
      .run(state, channel, this.clock().getTime());
  }

  failure(state: MemberStateCode, channel: Channel, reason: string, permanent: boolean): void {
    statement(
      this.db,
      `INSERT INTO exchange_links (state, channel, last_error_at, last_error, failing) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (state, channel) DO UPDATE SET last_error_at = excluded.last_error_at,
         last_error = excluded.last_error, failing = excluded.failing`,
    )
      .run(state, channel, this.clock().getTime(), reason.slice(0, 500), permanent ? 'permanent' : 'temporary');
  }

  /** Link rows for every enabled (peer, channel), in directory order. */
  statuses(peers: ReadonlyArray<{ state: MemberStateCode; channel: Channel; enabled: boolean }>): PeerLinkStatus[] {
    const rows = new Map<string, { last_success: number | null; last_error_at: number | null; last_error: string | null; failing: string | null }>();
    for (const r of statement(this.db, 'SELECT * FROM exchange_links').all() as Array<{
      state: string;
      channel: string;
      last_success: number | null;
      last_error_at: number | null;
      last_error: string | null;
      failing: string | null;
    }>) {
      rows.set(`${r.state}/${r.channel}`, r);
    }
    return peers.map(({ state, channel, enabled }) => {
      const r = rows.get(`${state}/${channel}`);
      const link: LinkState = !enabled
        ? 'disabled'
        : !r
          ? 'unknown'
          : r.failing === 'permanent'
            ? 'down'
            : r.failing === 'temporary'
              ? r.last_success === null || (r.last_error_at ?? 0) - r.last_success > 60_000
                ? 'down'
                : 'degraded'
              : r.last_success !== null
                ? 'up'
                : 'unknown';
      return {
        state,
        channel,
        link,
        lastSuccess: r?.last_success ? new Date(r.last_success).toISOString() : null,
        lastError: r?.last_error_at && r.last_error ? { at: new Date(r.last_error_at).toISOString(), reason: r.last_error } : null,
      };
    });
  }
}
