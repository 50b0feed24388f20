import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { MemberStateCode } from '../peers/member-states.js';

/**
 * Notes (marks) on our national profiles that another State hit (2008/616 Art. 9(2), 11(2)):
 * the operator sees which profiles were hit, by whom, when, with which quality, and can follow
 * up through mutual legal assistance.
 */
export interface ProfileNote {
  readonly profileId: string;
  readonly state: MemberStateCode;
  readonly requestRef: string;
  readonly requestingProfileId: string;
  readonly quality: number;
  readonly at: string;
}

export class ProfileNotes {
  constructor(private readonly db: Db) {
    migrateSchema(db);
  }

  /** Called in the pipeline transaction that sends the answer. */
  record(note: Omit<ProfileNote, 'at'>, at: Date): void {
    statement(this.db, `INSERT OR IGNORE INTO dna_notes VALUES (?, ?, ?, ?, ?, ?)`)
      .run(note.profileId, note.state, note.requestRef, note.requestingProfileId, note.quality, at.getTime());
  }

  list(filter: { profileId?: string; state?: MemberStateCode } = {}, limit = 1000): ProfileNote[] {
    const rows = statement(
      this.db,
      `SELECT * FROM dna_notes WHERE (@profileId IS NULL OR profile_id = @profileId) AND (@state IS NULL OR state = @state)
       ORDER BY at DESC LIMIT @limit`,
    )
      .all({ profileId: filter.profileId ?? null, state: filter.state ?? null, limit }) as Array<{
      profile_id: string;
      state: MemberStateCode;
      request_ref: string;
      requesting_profile_id: string;
      quality: number;
      at: number;
    }>;
    return rows.map((r) => ({
      profileId: r.profile_id,
      state: r.state,
      requestRef: r.request_ref,
      requestingProfileId: r.requesting_profile_id,
      quality: r.quality,
      at: new Date(r.at).toISOString(),
    }));
  }
}
