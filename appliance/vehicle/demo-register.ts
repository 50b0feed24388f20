/**
 * A stand-in for a national vehicle register: a SQLite file with synthetic vehicles, their registration
 * history (plates over time), holders, owners and insurance, searched by the Annex's criteria at a
 * reference date-time. Used by the tests and the demo network; a real installation plugs its register
 * in behind the same interface (register.ts).
 *
 * Some vehicles are marked "no history" (the register keeps only their current registration, as older
 * registers do): a search with a past reference date-time gets their current data, flagged as current.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { MemberStateCode } from '../peers/member-states.js';
import {
  normalisePlate,
  normaliseVin,
  type Address,
  type FullDataSet,
  type Gender,
  type Holder,
  type HolderType,
  type Insurance,
  type LegalEntity,
  type Owner,
  type VehicleQuery,
  type VehicleStatus,
} from './data-set.js';
import type { VehicleRegister } from './register.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS vehicles (
  id INTEGER PRIMARY KEY, vin TEXT NOT NULL, make TEXT NOT NULL, commercial_type TEXT NOT NULL, eu_category TEXT NOT NULL,
  first_registration TEXT NOT NULL, kw INTEGER, capacity INTEGER, history INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS vehicles_vin ON vehicles (vin);
CREATE TABLE IF NOT EXISTS registrations (
  id INTEGER PRIMARY KEY, vehicle_id INTEGER NOT NULL REFERENCES vehicles(id), licence_number TEXT NOT NULL, plate TEXT NOT NULL,
  licence_type TEXT, start TEXT NOT NULL, end TEXT, status TEXT NOT NULL, status_start TEXT NOT NULL, status_end TEXT,
  document_id1 TEXT, document_id2 TEXT);
CREATE INDEX IF NOT EXISTS registrations_plate ON registrations (plate);
CREATE INDEX IF NOT EXISTS registrations_vehicle ON registrations (vehicle_id);
CREATE TABLE IF NOT EXISTS parties (
  id INTEGER PRIMARY KEY, legal_entity TEXT NOT NULL, surname TEXT NOT NULL, infixes TEXT, titles TEXT, first_names TEXT, initials TEXT,
  gender TEXT, date_of_birth TEXT, place_of_birth TEXT, street TEXT, house_number TEXT, house_number_annex TEXT, zip_code TEXT,
  place TEXT, country TEXT, id_number TEXT, id_type TEXT);
CREATE TABLE IF NOT EXISTS holderships (
  registration_id INTEGER NOT NULL REFERENCES registrations(id), party_id INTEGER NOT NULL REFERENCES parties(id),
  role TEXT NOT NULL CHECK (role IN ('holder', 'owner')), start TEXT, end TEXT, holder_type TEXT);
CREATE INDEX IF NOT EXISTS holderships_registration ON holderships (registration_id);
CREATE TABLE IF NOT EXISTS insurances (
  vehicle_id INTEGER NOT NULL REFERENCES vehicles(id), company TEXT NOT NULL, begin_date TEXT, end_date TEXT, street TEXT, house_number TEXT,
  zip_code TEXT, place TEXT, country TEXT, insurance_number TEXT, id_number TEXT, id_type TEXT);
CREATE INDEX IF NOT EXISTS insurances_vehicle ON insurances (vehicle_id);
`;

interface VehicleRow { id: number; vin: string; make: string; commercial_type: string; eu_category: string; first_registration: string; kw: number | null; capacity: number | null; history: number }
interface RegistrationRow { id: number; vehicle_id: number; licence_number: string; licence_type: string | null; start: string; end: string | null; status: string; status_start: string; status_end: string | null; document_id1: string | null; document_id2: string | null }
interface PartyRow { legal_entity: string; surname: string; infixes: string | null; titles: string | null; first_names: string | null; initials: string | null; gender: string | null; date_of_birth: string | null; place_of_birth: string | null; street: string | null; house_number: string | null; house_number_annex: string | null; zip_code: string | null; place: string | null; country: string | null; id_number: string | null; id_type: string | null; role: 'holder' | 'owner'; start: string | null; end: string | null; holder_type: string | null }
interface InsuranceRow { company: string; begin_date: string | null; end_date: string | null; street: string | null; house_number: string | null; zip_code: string | null; place: string | null; country: string | null; insurance_number: string | null; id_number: string | null; id_type: string | null }

const u = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function printableAddress(a: { street?: string | undefined; houseNumber?: string | undefined; houseNumberAnnex?: string | undefined; zipCode?: string | undefined; placeOfResidence?: string | undefined; countryOfResidence?: string | undefined }): string {
  const line1 = [a.street, [a.houseNumber, a.houseNumberAnnex].filter(Boolean).join('')].filter(Boolean).join(' ');
  const line2 = [a.zipCode, a.placeOfResidence].filter(Boolean).join(' ');
  return [line1, line2, a.countryOfResidence].filter(Boolean).join(', ');
}

/** Valid at `t` (ISO date or instant): started on or before, not yet ended. Dates compare as text in ISO form. */
function validAt(start: string | null, end: string | null, t: string): boolean {
  return (start === null || start.slice(0, 10) <= t.slice(0, 10)) && (end === null || t.slice(0, 10) < end.slice(0, 10));
}

export interface DemoRegisterOptions {
  readonly state: MemberStateCode;
  /** Pretend the register is slow (tests of the 10-second deadline): each search waits this long first. */
  readonly simulatedDelayMs?: number;
  readonly clock?: () => Date;
}

export class DemoVehicleRegister implements VehicleRegister {
  private readonly db: Database.Database;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly opts: DemoRegisterOptions,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  private readonly statements = new Map<string, unknown>();
  /** Prepared once per SQL text: compiling costs about as much as running these lookups. */
  private prepare<P extends unknown[], R>(sql: string): Database.Statement<P, R> {
    let s = this.statements.get(sql) as Database.Statement<P, R> | undefined;
    if (!s) {
      s = this.db.prepare<P, R>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  static exists(path: string): boolean {
    return existsSync(path);
  }

  get database(): Database.Database {
    return this.db;
  }

  async search(query: VehicleQuery, { signal }: { readonly signal: AbortSignal }): Promise<readonly FullDataSet[]> {
    if (this.opts.simulatedDelayMs) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.opts.simulatedDelayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new Error('aborted'));
        });
      });
    }
    if (this.closed) throw new Error('the register is closed');
    return this.searchNow(query);
  }

  /** Synchronous lookup (SQLite); exposed for the plain-HTTP baseline of the benchmark. */
  searchNow(query: VehicleQuery): FullDataSet[] {
    const now = (this.opts.clock ?? (() => new Date()))().toISOString();
    const at = query.referenceDateTime ?? now;
    const past = query.referenceDateTime !== undefined;
    let candidates: RegistrationRow[];
    if (query.kind === 'vin') {
      candidates = this.prepare<[string], RegistrationRow>('SELECT r.* FROM registrations r JOIN vehicles v ON v.id = r.vehicle_id WHERE v.vin = ? ORDER BY r.start')
        .all(normaliseVin(query.vin));
    } else {
      candidates = this.prepare<[string], RegistrationRow>('SELECT * FROM registrations WHERE plate = ? ORDER BY start').all(normalisePlate(query.licenceNumber));
    }
    const out: FullDataSet[] = [];
    const seen = new Set<number>();
    for (const r of candidates) {
      if (seen.has(r.vehicle_id)) continue;
      const v = this.prepare<[number], VehicleRow>('SELECT * FROM vehicles WHERE id = ?').get(r.vehicle_id);
      if (!v) continue;
      if (query.kind === 'plate' && query.vin !== undefined && v.vin !== normaliseVin(query.vin)) continue;
      // Without history only the current registration is known: a past reference date-time gets it, flagged.
      const noHistory = past && v.history === 0;
      const when = noHistory ? now : at;
      if (!validAt(r.start, r.end, when)) continue;
      seen.add(r.vehicle_id);
      out.push(this.dataSet(v, r, when, noHistory));
    }
    return out;
  }

  private dataSet(v: VehicleRow, r: RegistrationRow, at: string, dataIsCurrent: boolean): FullDataSet {
    const parties = this.prepare<[number], PartyRow>(
      'SELECT p.*, h.role, h.start, h.end, h.holder_type FROM holderships h JOIN parties p ON p.id = h.party_id WHERE h.registration_id = ? ORDER BY h.rowid',
    ).all(r.id).filter((p) => validAt(p.start, p.end, at));
    const holders: Holder[] = [];
    const owners: Owner[] = [];
    for (const p of parties) {
      const address = clean({ street: u(p.street), houseNumber: u(p.house_number), houseNumberAnnex: u(p.house_number_annex), zipCode: u(p.zip_code), placeOfResidence: u(p.place), countryOfResidence: u(p.country) });
      const surnameParts = [p.titles, p.surname, p.infixes].filter(Boolean).join(' ');
      const party = clean({
        name: clean({ surname: p.surname, infixes: u(p.infixes), titles: u(p.titles), printable: surnameParts }),
        firstName: p.first_names ? clean({ firstNames: p.first_names, initials: u(p.initials), printable: p.first_names }) : undefined,
        address: { ...address, printable: printableAddress(address) } as Address,
        gender: u(p.gender) as Gender | undefined,
        dateOfBirth: u(p.date_of_birth),
        legalEntity: p.legal_entity as LegalEntity,
        placeOfBirth: u(p.place_of_birth),
        identification: p.id_number && p.id_type ? { idNumber: p.id_number, idType: p.id_type } : undefined,
        startDate: u(p.start),
        endDate: u(p.end),
      });
      if (p.role === 'holder') holders.push(clean({ ...party, holderType: u(p.holder_type) as HolderType | undefined }));
      else owners.push(party);
    }
    const insurances: Insurance[] = this
      .prepare<[number], InsuranceRow>('SELECT * FROM insurances WHERE vehicle_id = ? ORDER BY rowid')
      .all(v.id)
      .filter((i) => validAt(i.begin_date, i.end_date, at))
      .map((i) => {
        const address = clean({ street: u(i.street), houseNumber: u(i.house_number), zipCode: u(i.zip_code), placeOfResidence: u(i.place), countryOfResidence: u(i.country) });
        return clean({
          companyName: i.company,
          beginDate: u(i.begin_date),
          endDate: u(i.end_date),
          address: { ...address, printable: printableAddress(address) },
          insuranceNumber: u(i.insurance_number),
          identification: i.id_number && i.id_type ? { idNumber: i.id_number, idType: i.id_type } : undefined,
        });
      });
    return {
      vehicle: clean({
        licenceNumber: r.licence_number,
        vin: v.vin,
        countryOfRegistration: this.opts.state,
        make: v.make,
        commercialType: v.commercial_type,
        euCategory: v.eu_category,
        firstRegistrationDate: v.first_registration,
        registrationStart: r.start,
        registrationEnd: u(r.end),
        status: clean({ code: r.status as VehicleStatus, start: r.status_start, end: u(r.status_end) }),
        kw: u(v.kw),
        capacity: u(v.capacity),
        licenceNumberType: u(r.licence_type),
        documentId1: u(r.document_id1),
        documentId2: u(r.document_id2),
      }),
      holders,
      owners,
      insurances,
      dataIsCurrent,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  // -------------------------------------------------------------------------------------------
  // Writing (the seed, tests)
  // -------------------------------------------------------------------------------------------

  addVehicle(v: { vin: string; make: string; commercialType: string; euCategory: string; firstRegistration: string; kw?: number; capacity?: number; history?: boolean }): number {
    return Number(
      this.db
        .prepare('INSERT INTO vehicles (vin, make, commercial_type, eu_category, first_registration, kw, capacity, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(normaliseVin(v.vin), v.make, v.commercialType, v.euCategory, v.firstRegistration, v.kw ?? null, v.capacity ?? null, v.history === false ? 0 : 1).lastInsertRowid,
    );
  }

  addRegistration(vehicleId: number, r: { licenceNumber: string; start: string; end?: string; status?: VehicleStatus; statusStart?: string; statusEnd?: string; licenceType?: string; documentId1?: string; documentId2?: string }): number {
    return Number(
      this.db
        .prepare('INSERT INTO registrations (vehicle_id, licence_number, plate, licence_type, start, end, status, status_start, status_end, document_id1, document_id2) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(vehicleId, r.licenceNumber, normalisePlate(r.licenceNumber), r.licenceType ?? 'regular', r.start, r.end ?? null, r.status ?? 'registered', r.statusStart ?? r.start, r.statusEnd ?? null, r.documentId1 ?? null, r.documentId2 ?? null)
        .lastInsertRowid,
    );
  }

  addParty(p: {
    legalEntity: LegalEntity; surname: string; infixes?: string; titles?: string; firstNames?: string; initials?: string; gender?: Gender; dateOfBirth?: string; placeOfBirth?: string;
    street?: string; houseNumber?: string; houseNumberAnnex?: string; zipCode?: string; place?: string; country?: string; idNumber?: string; idType?: string;
  }): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO parties (legal_entity, surname, infixes, titles, first_names, initials, gender, date_of_birth, place_of_birth, street, house_number, house_number_annex, zip_code, place, country, id_number, id_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(p.legalEntity, p.surname, p.infixes ?? null, p.titles ?? null, p.firstNames ?? null, p.initials ?? null, p.gender ?? null, p.dateOfBirth ?? null, p.placeOfBirth ?? null, p.street ?? null, p.houseNumber ?? null, p.houseNumberAnnex ?? null, p.zipCode ?? null, p.place ?? null, p.country ?? null, p.idNumber ?? null, p.idType ?? null)
        .lastInsertRowid,
    );
  }

  addHoldership(registrationId: number, partyId: number, h: { role: 'holder' | 'owner'; start?: string; end?: string; holderType?: HolderType }): void {
    this.db.prepare('INSERT INTO holderships (registration_id, party_id, role, start, end, holder_type) VALUES (?, ?, ?, ?, ?, ?)').run(registrationId, partyId, h.role, h.start ?? null, h.end ?? null, h.holderType ?? null);
  }

  addInsurance(vehicleId: number, i: { company: string; begin?: string; end?: string; street?: string; houseNumber?: string; zipCode?: string; place?: string; country?: string; number?: string; idNumber?: string; idType?: string }): void {
    this.db
      .prepare('INSERT INTO insurances (vehicle_id, company, begin_date, end_date, street, house_number, zip_code, place, country, insurance_number, id_number, id_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(vehicleId, i.company, i.begin ?? null, i.end ?? null, i.street ?? null, i.houseNumber ?? null, i.zipCode ?? null, i.place ?? null, i.country ?? null, i.number ?? null, i.idNumber ?? null, i.idType ?? null);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM vehicles').get() as { n: number }).n;
  }

  transaction(f: () => void): void {
    this.db.transaction(f)();
  }
}
