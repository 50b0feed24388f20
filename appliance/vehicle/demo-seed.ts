/**
 * Synthetic vehicles for the demo register: a few well-known ones per State (the tests and the demo's
 * example search use them) and a seeded random population, with names in several EU scripts
 * (Greek, Cyrillic, Latin with diacritics) so UTF-8 is exercised end to end.
 */
import type { MemberStateCode } from '../peers/member-states.js';
import type { DemoVehicleRegister } from './demo-register.js';
import type { Gender } from './data-set.js';
import { seededRandom } from '../demo/seed.js';

/** A 17-character synthetic VIN: PRM + State + ZZZ + 9 digits. */
export function demoVin(state: MemberStateCode, n: number): string {
  return `PRM${state}ZZZ${String(n).padStart(9, '0')}`;
}

/** A plate in the State's usual shape (synthetic). */
export function demoPlate(state: MemberStateCode, n: number): string {
  if (state === 'RO') return `B ${100 + n} PRM`;
  if (state === 'DE') return `M PR ${1000 + n}`;
  if (state === 'AT') return `W ${10000 + n} P`;
  return `${state} ${n} PRM`;
}

/** What the well-known vehicles are, so tests can ask for each case by name. */
export const DEMO_CASES = {
  /** Registration history: plate 1 until 2022-03-01, then plate 2; holder changed with it. */
  history: { vin: 1, oldPlate: 1, currentPlate: 2, changedOn: '2022-03-01' },
  /** The register keeps no history for it: a past reference date-time gets current data, flagged. */
  noHistory: { vin: 2, plate: 3 },
  /** Two vehicles currently carry plate 4 (a regular and a trade registration): refine-search set. */
  sharedPlate: { vins: [3, 4], plate: 4 },
  /** Reported stolen. */
  stolen: { vin: 5, plate: 5 },
} as const;

const PEOPLE: ReadonlyArray<{ surname: string; firstNames: string; gender: Gender; place: string; street: string; country: string; infixes?: string }> = [
  { surname: 'Παπαδοπούλου', firstNames: 'Ελένη', gender: 'female', place: 'Θεσσαλονίκη', street: 'Οδός Εγνατίας', country: 'EL' },
  { surname: 'Иванов', firstNames: 'Георги', gender: 'male', place: 'София', street: 'бул. Витоша', country: 'BG' },
  { surname: 'Ștefănescu', firstNames: 'Ioana-Mădălina', gender: 'female', place: 'Brașov', street: 'Strada Mureșenilor', country: 'RO' },
  { surname: 'Müller-Lüdenscheidt', firstNames: 'Jürgen', gender: 'male', place: 'München', street: 'Maximilianstraße', country: 'DE' },
  { surname: 'Dvořák', firstNames: 'Zdeněk', gender: 'male', place: 'Plzeň', street: 'Náměstí Republiky', country: 'CZ' },
  { surname: 'Łukasiewicz', firstNames: 'Małgorzata', gender: 'female', place: 'Łódź', street: 'ulica Piotrkowska', country: 'PL' },
  { surname: 'Szőke', firstNames: 'Ödön', gender: 'male', place: 'Győr', street: 'Széchenyi tér', country: 'HU' },
  { surname: 'Sørensen', firstNames: 'Søren Åge', gender: 'male', place: 'Århus', street: 'Søndergade', country: 'DK' },
  { surname: 'Bakker', infixes: 'van der', firstNames: 'Anneke', gender: 'female', place: 'Utrecht', street: 'Oudegracht', country: 'NL' },
  { surname: 'Gruber', firstNames: 'Maximilian', gender: 'male', place: 'Wien', street: 'Währinger Straße', country: 'AT' },
];
const COMPANIES = ['Leasing Ștefan & Fiii SRL', 'Autovermietung Größer GmbH', 'Λεωφορεία Αιγαίου Α.Ε.', 'Транспорт ООД'];
const MODELS: ReadonlyArray<[string, string, string, number, number]> = [
  ['Dacia', 'Logan', 'M1', 66, 1461],
  ['Volkswagen', 'Golf', 'M1', 110, 1968],
  ['Škoda', 'Octavia', 'M1', 85, 1598],
  ['Renault', 'Mégane', 'M1', 96, 1332],
  ['Ford', 'Transit', 'N1', 125, 1995],
  ['Piaggio', 'Vespa', 'L1e', 3, 49],
  ['MAN', 'TGX', 'N3', 324, 12419],
];
const INSURERS = ['Allianz-Țiriac Asigurări', 'HUK-COBURG', 'Wiener Städtische', 'Εθνική Ασφαλιστική'];

export function seedDemoRegister(register: DemoVehicleRegister, state: MemberStateCode, opts: { randomVehicles?: number } = {}): void {
  const random = seededRandom([...state].reduce((s, c) => s * 31 + c.charCodeAt(0), 7));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const person = (k: number) => {
    const p = PEOPLE[k % PEOPLE.length] as (typeof PEOPLE)[number];
    const year = 1950 + Math.floor(random() * 50);
    return register.addParty({
      legalEntity: 'individual',
      surname: p.surname,
      ...(p.infixes ? { infixes: p.infixes } : {}),
      firstNames: p.firstNames,
      initials: p.firstNames.split(/[\s-]/).map((n) => `${n[0]}.`).join(''),
      gender: p.gender,
      dateOfBirth: `${year}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
      placeOfBirth: p.place,
      street: p.street,
      houseNumber: String(1 + Math.floor(random() * 120)),
      zipCode: String(10000 + Math.floor(random() * 89999)),
      place: p.place,
      country: p.country,
      idNumber: `${p.country}${Math.floor(random() * 1e8)}`,
      idType: 'national identity card',
    });
  };
  const company = (k: number) =>
    register.addParty({ legalEntity: 'company', surname: COMPANIES[k % COMPANIES.length] as string, street: 'Calea Victoriei', houseNumber: '12', houseNumberAnnex: 'A', zipCode: '010061', place: 'București', country: state, idNumber: `J40/${k}/2015`, idType: 'trade register number' });
  const insure = (vehicleId: number, begin: string, k: number) =>
    register.addInsurance(vehicleId, { company: INSURERS[k % INSURERS.length] as string, begin, end: '2027-12-31', street: 'Piața Victoriei', houseNumber: '1', zipCode: '010071', place: 'București', country: state, number: `POL-${state}-${k}`, idNumber: `INS-${k}`, idType: 'supervisory authority register' });

  register.transaction(() => {
    // history: two plates, two holders, one leasing owner
    const h = DEMO_CASES.history;
    const v1 = register.addVehicle({ vin: demoVin(state, h.vin), make: 'Dacia', commercialType: 'Duster', euCategory: 'M1', firstRegistration: '2018-01-10', kw: 84, capacity: 1461 });
    const r1a = register.addRegistration(v1, { licenceNumber: demoPlate(state, h.oldPlate), start: '2018-01-10', end: h.changedOn, status: 'registered', statusStart: '2018-01-10', documentId1: `DOC-${state}-1A` });
    const r1b = register.addRegistration(v1, { licenceNumber: demoPlate(state, h.currentPlate), start: h.changedOn, status: 'registered', statusStart: h.changedOn, documentId1: `DOC-${state}-1B`, documentId2: `CIV-${state}-1B` });
    register.addHoldership(r1a, person(2), { role: 'holder', start: '2018-01-10', end: h.changedOn, holderType: 'is-owner' });
    register.addHoldership(r1b, person(0), { role: 'holder', start: h.changedOn, holderType: 'is-not-owner' });
    register.addHoldership(r1b, company(0), { role: 'owner', start: h.changedOn });
    insure(v1, '2022-03-01', 1);
    // no history
    const nh = DEMO_CASES.noHistory;
    const v2 = register.addVehicle({ vin: demoVin(state, nh.vin), make: 'Škoda', commercialType: 'Octavia', euCategory: 'M1', firstRegistration: '2010-05-20', kw: 77, history: false });
    const r2 = register.addRegistration(v2, { licenceNumber: demoPlate(state, nh.plate), start: '2024-06-01', status: 'registered', statusStart: '2024-06-01' });
    register.addHoldership(r2, person(1), { role: 'holder', start: '2024-06-01', holderType: 'is-owner' });
    insure(v2, '2024-06-01', 2);
    // shared plate
    const sp = DEMO_CASES.sharedPlate;
    for (const [i, vin] of sp.vins.entries()) {
      const v = register.addVehicle({ vin: demoVin(state, vin), make: i === 0 ? 'Volkswagen' : 'Ford', commercialType: i === 0 ? 'Golf' : 'Transit', euCategory: i === 0 ? 'M1' : 'N1', firstRegistration: '2020-02-02' });
      const r = register.addRegistration(v, { licenceNumber: demoPlate(state, sp.plate), start: '2023-01-01', licenceType: i === 0 ? 'regular' : 'trade' });
      register.addHoldership(r, i === 0 ? person(3) : company(1), { role: 'holder', start: '2023-01-01' });
    }
    // stolen
    const st = DEMO_CASES.stolen;
    const v5 = register.addVehicle({ vin: demoVin(state, st.vin), make: 'Renault', commercialType: 'Mégane', euCategory: 'M1', firstRegistration: '2019-09-09', kw: 96, capacity: 1332 });
    const r5 = register.addRegistration(v5, { licenceNumber: demoPlate(state, st.plate), start: '2019-09-09', status: 'stolen', statusStart: '2025-11-02' });
    register.addHoldership(r5, person(4), { role: 'holder', start: '2019-09-09', holderType: 'is-owner' });
    insure(v5, '2019-09-09', 3);

    for (let n = 100; n < 100 + (opts.randomVehicles ?? 500); n++) {
      const [make, type, cat, kw, cc] = pick(MODELS);
      const first = `${2005 + Math.floor(random() * 20)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`;
      const v = register.addVehicle({ vin: demoVin(state, n), make, commercialType: type, euCategory: cat, firstRegistration: first, kw, capacity: cc, history: random() > 0.1 });
      const r = register.addRegistration(v, { licenceNumber: demoPlate(state, n), start: first });
      if (random() < 0.2) {
        register.addHoldership(r, company(n), { role: 'holder', start: first, holderType: 'is-owner' });
      } else {
        register.addHoldership(r, person(n), { role: 'holder', start: first, holderType: random() < 0.8 ? 'is-owner' : 'not-identified-as-owner' });
      }
      if (random() < 0.7) insure(v, first, n);
    }
  });
}
