import type { MemberStateCode } from '../../peers/member-states.js';
import { makeType1 } from '../Type1Record.js';
import { makeType2 } from '../Type2Record.js';
import { makeType9 } from '../Type9Record.js';
import { makeType13 } from '../Type13Record.js';
import type { Type4Record } from '../Type4Record.js';
import { withContents, writeTransaction, type NistRecord } from '../transaction.js';
import type { RequestTot } from '../tot.js';
import type { DemoAfis, EnrolledRecord } from './demo.js';
import { demoWsqImage, plainWsqImage } from './demo-image.js';
import { minutiaKindCode, type FingerTemplate } from './minutiae.js';
import { FINGER_HEIGHT, FINGER_WIDTH, latentOf, randomFinger, randomTenPrint, secondImpression, seededRandom } from './synthetic.js';

/**
 * The demo network's national AFIS databases and example searches: a seeded synthetic population
 * per State, plus one "demo subject" whose prints the examples use. DE holds the subject's
 * ten-print (a CPS or an MPS of it hits DE); AT holds an unsolved latent the subject left (a PMS of
 * the subject's ten-print hits AT). Nothing here is a fixed answer: the searches carry other
 * impressions of the subject's fingers and the demo AFIS's matcher has to find them.
 */
const DEMO_SUBJECT_SEED = 0x5eed_f1;

export function demoSubject(): FingerTemplate[] {
  return randomTenPrint(seededRandom(DEMO_SUBJECT_SEED));
}

export const DEMO_SUBJECT_REFERENCE: Partial<Record<MemberStateCode, string>> = { DE: 'DE/DEMO-FP-0001', AT: 'AT/DEMO-LATENT-0001' };

function stateSeed(state: string): number {
  return [...state].reduce((a, c) => a * 31 + c.charCodeAt(0), 11);
}

/** Enrols the State's synthetic population (idempotent: references are fixed). */
export function seedDemoAfis(afis: DemoAfis, state: MemberStateCode, sizes: { persons: number; latents: number } = { persons: 100, latents: 40 }): void {
  const random = seededRandom(stateSeed(state));
  const records: EnrolledRecord[] = [];
  for (let i = 1; i <= sizes.persons; i++) {
    records.push({ reference: `${state}/P-${String(i).padStart(6, '0')}`, kind: 'tenprint', fingers: randomTenPrint(random) });
  }
  for (let i = 1; i <= sizes.latents; i++) {
    // Latents left by people the database does not hold.
    records.push({ reference: `${state}/L-${String(i).padStart(6, '0')}`, kind: 'latent', fingers: [latentOf(randomFinger(random, 1 + (i % 10)), random)] });
  }
  const subject = demoSubject();
  const subjectRandom = seededRandom(DEMO_SUBJECT_SEED + 1);
  if (state === 'DE') records.push({ reference: DEMO_SUBJECT_REFERENCE.DE!, kind: 'tenprint', fingers: subject });
  if (state === 'AT') records.push({ reference: DEMO_SUBJECT_REFERENCE.AT!, kind: 'latent', fingers: [latentOf(subject[2]!, subjectRandom)] });
  afis.enrolAll(records);
}

export interface SearchSpec {
  readonly tot: RequestTot;
  readonly from: MemberStateCode;
  readonly agency: string;
  /** `CC/agency` of the destination (set again per peer when sent). */
  readonly destination: string;
  readonly tcn: string;
  readonly priority?: number;
  readonly now: Date;
  /** CRN (ten-print searches) or case number (latent searches), without the country code. */
  readonly reference: string;
  /** Ten-print searches: the fingers; latent searches: one latent. */
  readonly fingers: readonly FingerTemplate[];
  readonly expectedCandidates?: number;
}

/** A search transaction as an AFIS would produce it (Type 1, Type 2, then Type 4 or Type 9 + 13). */
export function demoSearchTransaction(s: SearchSpec): Buffer {
  const records: NistRecord[] = [makeType1({ tot: s.tot, destination: s.destination, origin: `${s.from}/${s.agency}`, tcn: s.tcn, priority: s.priority, now: s.now })];
  const latent = s.tot === 'MPS' || s.tot === 'MMS';
  records.push(
    latent
      ? makeType2({ idc: 0, caseNumber: `${s.from}/${s.reference}`, sequenceNumber: '0001', latentId: 'A', expectedCandidates: s.expectedCandidates ?? (s.tot === 'MPS' ? 10 : 5) })
      : makeType2({ idc: 0, criminalReference: `${s.from}/${s.reference}`, expectedCandidates: s.expectedCandidates ?? (s.tot === 'CPS' ? 1 : 5) }),
  );
  if (latent) {
    const finger = s.fingers[0];
    if (!finger) throw new RangeError('a latent search needs one latent');
    records.push(
      makeType9({
        idc: 1,
        impression: 4,
        width: FINGER_WIDTH,
        height: FINGER_HEIGHT,
        position: 0,
        minutiae: finger.minutiae.map((m) => ({ x: Math.round(m.x), y: Math.round(m.y), theta: Math.round(m.theta / 2) % 180, type: minutiaKindCode(m.kind), quality: m.quality })),
      }),
      makeType13({ idc: 1, impression: 4, source: `${s.from}/${s.agency}`, date: s.now.toISOString().slice(0, 10).replace(/-/g, ''), width: FINGER_WIDTH, height: FINGER_HEIGHT, positions: [0], image: plainWsqImage(FINGER_WIDTH, FINGER_HEIGHT) }),
    );
  } else {
    s.fingers.forEach((f, i) => {
      const image: Type4Record = { kind: 'image', type: 4, idc: i + 1, imp: 1, fgp: [f.position, 255, 255, 255, 255, 255], isr: 0, hll: FINGER_WIDTH, vll: FINGER_HEIGHT, gca: 1, image: demoWsqImage(f, FINGER_WIDTH, FINGER_HEIGHT) };
      records.push(image);
    });
  }
  return writeTransaction(withContents({ records }));
}

/** The demo subject's prints as the examples send them: another impression of the ten-print, or a latent of one finger. */
export function demoSubjectProbe(kind: 'tenprint' | 'latent'): FingerTemplate[] {
  const random = seededRandom(DEMO_SUBJECT_SEED + 2);
  const subject = demoSubject();
  return kind === 'tenprint' ? subject.map((f) => secondImpression(f, random)) : [latentOf(subject[1]!, random)];
}
