/**
 * The match engine: an in-memory index over the national profiles in the store, answering "which of our
 * profiles does this profile hit, and how well" exactly as the rules in match.ts say, without looking at
 * every profile.
 *
 * Why a search can skip most profiles. A hit needs (a) at least six fully designated matching loci and
 * (b) at most one differing allele in the whole comparison (match.ts). So a locus where both profiles are
 * fully designated either matches — the stored genotype is one of the few genotypes equivalent to the
 * request's (itself, micro-variants, both permutations) — or carries the one differing allele. For a set S of
 * the request's designated loci, every hit therefore matches at least
 *     T(S) = max( 6 − |request designated loci not in S| ,  |S ∩ loci designated in the stored profile| − 1 )
 * loci of S. The index keeps, per locus and genotype, the list of profiles with that genotype, so counting
 * how many lists of S a profile appears in and keeping those that reach T(S) finds every hit; the survivors
 * are then checked with the full rules.
 *
 * Layout. Profiles are grouped by the loci they have (kits: SGM Plus, Identifiler, PowerPlex, NGM…; partial
 * stains by coarser keys) and laid out in blocks of at most 65 536 profiles of one group, so each block knows
 * its `core` — the loci designated in every member — and the second term of T(S) applies to it. Each block
 * also indexes up to five disjoint pairs of core loci (ESS loci first: every request has them) by their joint
 * genotype; a pair list is about 20 times shorter than a single-locus list. Disjoint features (pairs, single
 * core loci) can each fail only through the one differing allele, so a hit is in all but one of them. Per block
 * and request the engine picks the cheapest plan — k shortest single-locus lists with T(S), k shortest core
 * features with T = k − 1, or a plain scan — from list lengths and a small cost model. Posting entries are
 * 16-bit offsets within the block; the counters are stamped per block search, so they never need clearing.
 *
 * Memory per profile: 2 bytes × 23 loci of genotype ids, 2 bytes per designated locus of postings, 4 bytes per
 * indexed pair, 4 bytes for its store slot, 4 for the slot → position map, 1 bit of live flag: ~99 bytes for a
 * typical database, under 128 even with all 23 loci. Genotype ids are per-locus dictionary entries.
 *
 * Updates: new profiles go to an open tail block (postings in plain arrays, no pairs) that is sealed when
 * full; removed profiles are flagged dead in place. A restart rebuilds the optimal layout from the store.
 */
import { WILDCARD_CODE } from './allele.js';
import { ABSENT, encodeLoci, MATCH_LOCUS_COUNT as NL } from './encoding.js';
import { ESS_LOCI, MATCH_LOCI, PENTA_LOCI } from './loci.js';
import { compareLocusCodes, compareProfiles, equivalentCodes, hitQuality, MIN_MATCHING_LOCI, type HitQuality } from './match.js';
import type { DnaLoci, NormalisedProfile } from './profile.js';

export const BLOCK_SIZE = 65536;
const NO_SLOT = 0xffffffff;
const ALL_LOCI_MASK = (1 << NL) - 1;
const MAX_GENOTYPES = 0xffff;
const MAX_DIGIT: ReadonlyArray<3 | 4> = MATCH_LOCI.map((l) => (PENTA_LOCI.has(l) ? 4 : 3));

// Cost model, in units of one posting entry counted (~3 ns here): checking a candidate, and checking a member
// during a block scan. Both start with the genotype-id pre-check on the request's rarest genotypes first, which
// usually stops at the second differing locus; only near-identical profiles go on to the full rules.
const VERIFY_COST = 20;
const SCAN_COST = 8;
/** Locus pairs indexed per block: 4 bytes per member and pair. */
const MAX_PAIRS = 5;
const ESS_INDEXES: ReadonlySet<number> = new Set(ESS_LOCI.map((l) => MATCH_LOCI.indexOf(l)));
const ESS_MASK = [...ESS_INDEXES].reduce((m, l) => m | (1 << l), 0);

type SharedArrayCtor<T> = { new (buffer: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };
/**
 * The index's arrays live on SharedArrayBuffers: the build worker posts them to the daemon's thread and the
 * daemon to its search workers (search-pool.ts) without a copy, so every thread searches the same memory.
 */
function shared<T>(Ctor: SharedArrayCtor<T>, length: number): T {
  return new Ctor(new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT));
}

// Live flags, one bit per block member (a byte each was ~1 byte per profile of the index's ~100).
function isAlive(bits: Uint8Array, i: number): boolean {
  return ((bits[i >>> 3]! >>> (i & 7)) & 1) === 1;
}
function setAlive(bits: Uint8Array, i: number, alive: boolean): void {
  if (alive) bits[i >>> 3]! |= 1 << (i & 7);
  else bits[i >>> 3]! &= ~(1 << (i & 7));
}

/** One of our profiles that a request profile hits. */
export interface EngineHit {
  readonly slot: number;
  readonly quality: HitQuality;
  readonly hitcount: number;
}

/** A stored national profile as the store returns it. */
export interface StoredProfile {
  readonly slot: number;
  readonly id: string;
  readonly type: 'P' | 'S';
  readonly agency: string;
  /** Date the profile was stored or last changed (xs:date), sent as the hit's `date`. */
  readonly storedOn: string;
  readonly profile: NormalisedProfile;
}

export interface Hit extends EngineHit {
  readonly nationalProfileId: string;
  readonly record: StoredProfile;
}

/** What the engine needs from the store: the encoded profiles at build time, whole records for hits. */
export interface EngineSource {
  count(): number;
  forEachEncoded(visit: (slot: number, codes: Uint16Array) => void): void;
  get(slot: number): StoredProfile | undefined;
}

class Genotypes {
  private readonly byKey = new Map<number, number>();
  lo: Uint16Array = shared(Uint16Array, 256);
  hi: Uint16Array = shared(Uint16Array, 256);
  /** Live profiles per genotype, for selectivity estimates. */
  live: Uint32Array = shared(Uint32Array, 256);
  size = 1; // id 0 = locus absent

  idOf(lo: number, hi: number): number | undefined {
    return this.byKey.get(lo * 16384 + hi);
  }

  intern(lo: number, hi: number): number {
    const key = lo * 16384 + hi;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    if (this.size >= MAX_GENOTYPES) return -1;
    if (this.size === this.lo.length) {
      const grow = <T extends Uint16Array | Uint32Array>(a: T): T => {
        const b = shared(a.constructor as unknown as SharedArrayCtor<T>, a.length * 2);
        b.set(a);
        return b;
      };
      this.lo = grow(this.lo);
      this.hi = grow(this.hi);
      this.live = grow(this.live);
    }
    const id = this.size++;
    this.lo[id] = lo;
    this.hi[id] = hi;
    this.byKey.set(key, id);
    return id;
  }

  /** Takes over transferred arrays; the key map is rebuilt (a few hundred entries per locus). */
  restore(state: GenotypesState): void {
    this.lo = state.lo;
    this.hi = state.hi;
    this.live = state.live;
    this.size = state.size;
    this.byKey.clear();
    for (let id = 1; id < state.size; id++) this.byKey.set(state.lo[id]! * 16384 + state.hi[id]!, id);
  }

  bytes(): number {
    // Map entries cost roughly 80 bytes each in V8.
    return this.lo.byteLength + this.hi.byteLength + this.live.byteLength + this.byKey.size * 80;
  }
}

class Block {
  size = 0;
  live = 0;
  /** Loci designated in every member ever added (dead members included: they are skipped anyway). */
  core = ALL_LOCI_MASK;
  /** Loci designated in some member. */
  any = 0;
  readonly slots: Uint32Array;
  readonly geno: Uint16Array;
  readonly alive: Uint8Array;
  // Sealed: CSR postings. base[l] = start of locus l's offsets; glen[l] = genotype ids covered.
  sealed = false;
  /** Layout id (core + pairs) once sealed, for sharing search plans (MatchEngine.layoutOf); -1 until asked. */
  layout = -1;
  base: Uint32Array = shared(Uint32Array, NL);
  glen: Uint32Array = shared(Uint32Array, NL);
  offsets: Uint32Array = shared(Uint32Array, 0);
  ids: Uint16Array = shared(Uint16Array, 0);
  // Open (tail) block: postings in growable arrays keyed by l * 65536 + genotype.
  open: Map<number, number[]> | null = null;
  // Pair postings (sealed blocks): up to MAX_PAIRS disjoint pairs of core loci. Per pair, members sorted by
  // (genotype at the first locus, genotype at the second): `pairDir` gives where each first genotype starts,
  // `pairSecond` the second genotype and `pairIds` the member, in that order.
  pairLoci: number[] = [];
  pairDir: Uint32Array[] = [];
  pairSecond: Uint16Array[] = [];
  pairIds: Uint16Array[] = [];

  constructor(
    readonly capacity: number,
    arrays?: { readonly slots: Uint32Array; readonly geno: Uint16Array; readonly alive: Uint8Array },
  ) {
    this.slots = arrays?.slots ?? shared(Uint32Array, capacity);
    this.geno = arrays?.geno ?? shared(Uint16Array, capacity * NL);
    this.alive = arrays?.alive ?? shared(Uint8Array, (capacity + 7) >>> 3);
  }

  seal(dicts: readonly Genotypes[]): void {
    let total = 0;
    for (let l = 0; l < NL; l++) {
      this.base[l] = total;
      this.glen[l] = dicts[l]!.size;
      total += dicts[l]!.size + 1;
    }
    const offsets = shared(Uint32Array, total);
    let entries = 0;
    for (let i = 0; i < this.size; i++) {
      if (!isAlive(this.alive, i)) continue;
      const row = i * NL;
      for (let l = 0; l < NL; l++) {
        const g = this.geno[row + l]!;
        if (g !== 0 && dicts[l]!.lo[g] !== WILDCARD_CODE) {
          offsets[this.base[l]! + g + 1]!++;
          entries++;
        }
      }
    }
    // One running sum over all loci: locus regions are contiguous and each starts with an empty genotype 0.
    for (let i = 1; i < total; i++) offsets[i]! += offsets[i - 1]!;
    const fill = Uint32Array.from(offsets);
    const ids = shared(Uint16Array, entries);
    for (let i = 0; i < this.size; i++) {
      if (!isAlive(this.alive, i)) continue;
      const row = i * NL;
      for (let l = 0; l < NL; l++) {
        const g = this.geno[row + l]!;
        if (g !== 0 && dicts[l]!.lo[g] !== WILDCARD_CODE) ids[fill[this.base[l]! + g]!++] = i;
      }
    }
    this.offsets = offsets;
    this.ids = ids;
    this.open = null;
    this.sealed = true;
  }

  /** Pair postings for `pairs` (loci designated in every member, i.e. within `core`). */
  buildPairs(pairs: ReadonlyArray<readonly [number, number]>): void {
    this.pairLoci = [];
    this.pairDir = [];
    this.pairSecond = [];
    this.pairIds = [];
    const members = new Float64Array(this.live);
    for (const [l1, l2] of pairs) {
      let n = 0;
      for (let i = 0; i < this.size; i++) {
        if (!isAlive(this.alive, i)) continue;
        const row = i * NL;
        // (g1, g2, member) packed in 48 bits: exact in a double, and one numeric sort orders all three.
        members[n++] = (this.geno[row + l1]! * 65536 + this.geno[row + l2]!) * 65536 + i;
      }
      members.sort();
      const dir = shared(Uint32Array, this.glen[l1]! + 1);
      const second = shared(Uint16Array, n);
      const ids = shared(Uint16Array, n);
      for (let k = 0; k < n; k++) {
        const v = members[k]!;
        const i = v % 65536;
        const rest = (v - i) / 65536;
        const g2 = rest % 65536;
        const g1 = (rest - g2) / 65536;
        dir[g1 + 1]!++;
        second[k] = g2;
        ids[k] = i;
      }
      for (let g = 1; g < dir.length; g++) dir[g]! += dir[g - 1]!;
      this.pairLoci.push(l1, l2);
      this.pairDir.push(dir);
      this.pairSecond.push(second);
      this.pairIds.push(ids);
    }
  }

  bytes(): number {
    let pairs = 0;
    for (let p = 0; p < this.pairDir.length; p++) {
      pairs += this.pairDir[p]!.byteLength + this.pairSecond[p]!.byteLength + this.pairIds[p]!.byteLength;
    }
    return (
      this.slots.byteLength + this.geno.byteLength + this.alive.byteLength + this.offsets.byteLength +
      this.ids.byteLength + this.base.byteLength + this.glen.byteLength + pairs
    );
  }
}

interface Overflow {
  slot: number;
  codes: Uint16Array;
}

/** First position in [lo, hi) of a sorted array whose value is ≥ v. */
function lowerBound(a: Uint16Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Per-request working data, reused between searches. */
class Request {
  readonly codes = new Uint16Array(NL * 2);
  /** Loci present in the request (wildcards included), and the fully designated ones. */
  present: number[] = [];
  designated: number[] = [];
  designatedMask = 0;
  /** Equivalent designated genotype ids per designated locus (index into `designated`). */
  keys: number[][] = [];
  /** Locus → index into `designated`, -1 when the request has no designated value there. */
  readonly slotOf = new Int8Array(NL).fill(-1);
  /** Designated loci, rarest request genotype first: the pre-check meets differing loci soonest. */
  checkOrder: number[] = [];
}

/** What the last search did, for benchmarks and `explain`-style diagnostics. */
export interface SearchWork {
  /** Posting entries counted. */
  entries: number;
  /** Of which from locus-pair postings. */
  pairEntries: number;
  /** Profiles checked with the full rules (candidates and scanned members). */
  verified: number;
  /** Blocks scanned whole because that was cheaper. */
  scannedBlocks: number;
  /** Blocks skipped because no member can share six designated loci with the request. */
  skippedBlocks: number;
}

/** Layout knobs of `MatchEngine.build` (tests); the defaults are what the daemon uses. */
export interface EngineBuildOptions {
  readonly minGroup?: number;
  readonly blockSize?: number;
}

export interface EngineStats {
  readonly profiles: number;
  readonly blocks: number;
  readonly indexBytes: number;
  readonly bytesPerProfile: number;
}

/** Version of the `EngineState` layout: a worker and the thread it hands its engine to run the same code. */
const STATE_VERSION = 2;

/** A locus dictionary in an `EngineState`: genotype id → (lower, upper) allele code and live profiles. */
export interface GenotypesState {
  readonly size: number;
  readonly lo: Uint16Array;
  readonly hi: Uint16Array;
  readonly live: Uint32Array;
}

/** A block in an `EngineState`; see `Block` for the meaning of each array. */
export interface BlockState {
  readonly capacity: number;
  readonly size: number;
  readonly live: number;
  readonly core: number;
  readonly any: number;
  readonly slots: Uint32Array;
  readonly geno: Uint16Array;
  readonly alive: Uint8Array;
  readonly sealed: boolean;
  readonly base: Uint32Array;
  readonly glen: Uint32Array;
  readonly offsets: Uint32Array;
  readonly ids: Uint16Array;
  readonly pairLoci: readonly number[];
  readonly pairDir: readonly Uint32Array[];
  readonly pairSecond: readonly Uint16Array[];
  readonly pairIds: readonly Uint16Array[];
  /** Open (tail) block: its posting lists as sorted keys (locus × 65 536 + genotype), list starts and members. */
  readonly open: { readonly keys: Uint32Array; readonly starts: Uint32Array; readonly members: Uint16Array } | null;
}

/**
 * An engine as plain data: typed arrays (each on its own ArrayBuffer, listed in `transfer`) and a little
 * metadata, so a worker thread can build the index and post it without a copy (`postMessage(state, transfer)`).
 * Per-search scratch is not part of it: `fromTransfer` allocates it afresh.
 */
export interface EngineState {
  readonly version: typeof STATE_VERSION;
  readonly blockSize: number;
  readonly profiles: number;
  readonly rank: readonly number[];
  readonly dicts: readonly GenotypesState[];
  readonly blocks: readonly BlockState[];
  readonly tail: BlockState | null;
  readonly where: Uint32Array;
  readonly overflow: ReadonlyArray<{ readonly slot: number; readonly codes: Uint16Array }>;
}

function blockState(b: Block): BlockState {
  let open: BlockState['open'] = null;
  if (b.open) {
    const keys = Uint32Array.from(b.open.keys()).sort();
    const starts = new Uint32Array(keys.length + 1);
    for (let k = 0; k < keys.length; k++) starts[k + 1] = starts[k]! + b.open.get(keys[k]!)!.length;
    const members = new Uint16Array(starts[keys.length]!);
    for (let k = 0; k < keys.length; k++) members.set(b.open.get(keys[k]!)!, starts[k]!);
    open = { keys, starts, members };
  }
  return {
    capacity: b.capacity,
    size: b.size,
    live: b.live,
    core: b.core,
    any: b.any,
    slots: b.slots,
    geno: b.geno,
    alive: b.alive,
    sealed: b.sealed,
    base: b.base,
    glen: b.glen,
    offsets: b.offsets,
    ids: b.ids,
    pairLoci: [...b.pairLoci],
    pairDir: [...b.pairDir],
    pairSecond: [...b.pairSecond],
    pairIds: [...b.pairIds],
    open,
  };
}

/** What a state must satisfy before the search code indexes into it without bounds checks. */
function checkBlockState(s: BlockState, where: string): void {
  const fail = (why: string) => {
    throw new Error(`engine state: ${where}: ${why}`);
  };
  if (!(s.capacity >= 1 && s.capacity <= BLOCK_SIZE && s.size >= 0 && s.size <= s.capacity && s.live >= 0 && s.live <= s.size)) fail('bad sizes');
  if (s.slots.length !== s.capacity || s.alive.length !== (s.capacity + 7) >>> 3 || s.geno.length !== s.capacity * NL) fail('member arrays do not match the capacity');
  if (s.base.length !== NL || s.glen.length !== NL) fail('bad locus directory');
  const pairs = s.pairDir.length;
  if (s.pairLoci.length !== 2 * pairs || s.pairSecond.length !== pairs || s.pairIds.length !== pairs) fail('bad pair postings');
  if (s.sealed === (s.open !== null)) fail('a block is either sealed or open');
  if (s.open && (s.open.starts.length !== s.open.keys.length + 1 || s.open.members.length !== s.open.starts[s.open.keys.length])) fail('bad open postings');
}

function restoreBlock(s: BlockState): Block {
  const b = new Block(s.capacity, s);
  b.size = s.size;
  b.live = s.live;
  b.core = s.core;
  b.any = s.any;
  b.sealed = s.sealed;
  b.base = s.base;
  b.glen = s.glen;
  b.offsets = s.offsets;
  b.ids = s.ids;
  b.pairLoci = [...s.pairLoci];
  b.pairDir = [...s.pairDir];
  b.pairSecond = [...s.pairSecond];
  b.pairIds = [...s.pairIds];
  if (s.open) {
    const open = new Map<number, number[]>();
    const { keys, starts, members } = s.open;
    for (let k = 0; k < keys.length; k++) open.set(keys[k]!, Array.from(members.subarray(starts[k]!, starts[k + 1]!)));
    b.open = open;
  }
  return b;
}

export class MatchEngine {
  private readonly dicts: Genotypes[] = MATCH_LOCI.map(() => new Genotypes());
  private readonly blocks: Block[] = [];
  private tail: Block | null = null;
  private where: Uint32Array = shared(Uint32Array, 1024).fill(NO_SLOT);
  private overflow: Overflow[] = [];
  // Per-member counters stamped with a block-search epoch (high 11 bits) so they never need clearing:
  // count in the low 5 bits (≤ 23 loci).
  private readonly counts = new Uint16Array(BLOCK_SIZE);
  private epoch = 0;
  /** Per locus, genotype id → 1 when it matches the current request's genotype (fast pre-check). */
  private marks: Uint8Array[] = MATCH_LOCI.map(() => new Uint8Array(256));
  // Per-search scratch, reused so that a search allocates almost nothing (GC pauses show up in p99).
  private readonly lens = new Float64Array(NL);
  private readonly order = new Int32Array(NL);
  private readonly esp = new Float64Array(7);
  private readonly candidates = new Int32Array(BLOCK_SIZE);
  private readonly featureLen = new Float64Array(NL);
  private readonly featureRef = new Int32Array(NL);
  private readonly featureOrder = new Int32Array(NL);
  private readonly featureFrom = new Int32Array(NL);
  private readonly featureTo = new Int32Array(NL);
  /** Ranges (start, end) into pair member lists; ≤ MAX_PAIRS × 9 × 9 of them. */
  private readonly ranges = new Int32Array(2 * MAX_PAIRS * 81);
  /** A block's chosen lists (see `plan`), and for pair features their ranges. */
  private readonly sel = new Int32Array(NL);
  private readonly selFrom = new Int32Array(NL);
  private readonly selTo = new Int32Array(NL);
  // Plans per block layout for the current search (searchBlock): valid while planStamp equals searchStamp.
  private readonly layouts = new Map<string, number>();
  private planStamp = new Int32Array(64);
  private planKind = new Int8Array(64);
  private planK = new Int32Array(64);
  private planT = new Int32Array(64);
  private planRefs = new Int32Array(64 * NL);
  private searchStamp = 0;
  /** Kept so that the compiler cannot drop the loads that fetch candidates' rows ahead (searchBlock). */
  private touched = 0;
  /** Loci by selectivity, most selective first (from the genotype counts). */
  private rank: number[] = [...Array(NL).keys()];
  private readonly req = new Request();
  private readonly scratch = new Uint16Array(NL * 2);
  private liveProfiles = 0;
  /** Work done by the last search. */
  readonly lastSearch: SearchWork = { entries: 0, pairEntries: 0, verified: 0, scannedBlocks: 0, skippedBlocks: 0 };

  private constructor(
    private readonly source: Pick<EngineSource, 'get'>,
    private readonly blockSize: number,
  ) {}

  /**
   * Builds the index from every profile of the store (at start). `minGroup` (profiles sharing loci needed to
   * form a group) and `blockSize` (≤ 65 536) exist for tests that need many groups and blocks on little data.
   */
  static build(source: EngineSource, options: EngineBuildOptions = {}): MatchEngine {
    const blockSize = Math.min(BLOCK_SIZE, Math.max(1, options.blockSize ?? BLOCK_SIZE));
    const engine = new MatchEngine(source, blockSize);
    engine.bulkLoad(source, options.minGroup);
    return engine;
  }

  /**
   * The engine as data to post to another thread (see `EngineState`). The index's arrays are on
   * SharedArrayBuffers: posted, they are shared, not copied, and stay usable here. `transfer` lists the few
   * ordinary buffers (an open tail block's postings, overflow profiles): post with it to move them (a build
   * worker that is done with its engine) or without it to copy them (the search pool, search-pool.ts).
   */
  toTransfer(): { state: EngineState; transfer: ArrayBuffer[] } {
    const state: EngineState = {
      version: STATE_VERSION,
      blockSize: this.blockSize,
      profiles: this.liveProfiles,
      rank: [...this.rank],
      dicts: this.dicts.map((d) => ({ size: d.size, lo: d.lo, hi: d.hi, live: d.live })),
      blocks: this.blocks.map(blockState),
      tail: this.tail ? blockState(this.tail) : null,
      where: this.where,
      overflow: this.overflow.map((o) => ({ slot: o.slot, codes: o.codes })),
    };
    const buffers = new Set<ArrayBuffer>();
    const add = (a: ArrayBufferView) => {
      // Every array here was allocated on its own (no views into a shared pool), so transferring moves exactly it.
      if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
    };
    for (const d of state.dicts) [d.lo, d.hi, d.live].forEach(add);
    for (const b of state.tail ? [...state.blocks, state.tail] : state.blocks) {
      [b.slots, b.geno, b.alive, b.base, b.glen, b.offsets, b.ids, ...b.pairDir, ...b.pairSecond, ...b.pairIds].forEach(add);
      if (b.open) [b.open.keys, b.open.starts, b.open.members].forEach(add);
    }
    add(state.where);
    for (const o of state.overflow) add(o.codes);
    return { state, transfer: [...buffers] };
  }

  /**
   * An engine from a state made by `toTransfer` (in this thread or, posted, in a worker), answering from
   * `source` for the hits' records. It takes the state's arrays over. Throws when the state is inconsistent.
   */
  static fromTransfer(state: EngineState, source: Pick<EngineSource, 'get'>): MatchEngine {
    if (state.version !== STATE_VERSION) throw new Error(`engine state: version ${String(state.version)}, expected ${STATE_VERSION}`);
    if (!(state.blockSize >= 1 && state.blockSize <= BLOCK_SIZE)) throw new Error('engine state: bad block size');
    if (state.dicts.length !== NL || state.rank.length !== NL) throw new Error('engine state: wrong number of loci');
    state.dicts.forEach((d, l) => {
      if (!(d.size >= 1 && d.size <= d.lo.length && d.lo.length === d.hi.length && d.lo.length === d.live.length)) {
        throw new Error(`engine state: locus ${l} dictionary is inconsistent`);
      }
    });
    state.blocks.forEach((b, i) => checkBlockState(b, `block ${i}`));
    if (state.tail) checkBlockState(state.tail, 'tail block');
    const engine = new MatchEngine(source, state.blockSize);
    state.dicts.forEach((d, l) => engine.dicts[l]!.restore(d));
    for (const b of state.blocks) engine.blocks.push(restoreBlock(b));
    engine.tail = state.tail ? restoreBlock(state.tail) : null;
    engine.where = state.where;
    engine.overflow = state.overflow.map((o) => ({ slot: o.slot, codes: o.codes }));
    engine.rank = [...state.rank];
    engine.liveProfiles = state.profiles;
    return engine;
  }

  get size(): number {
    return this.liveProfiles;
  }

  stats(): EngineStats {
    let bytes = this.where.byteLength + this.counts.byteLength;
    for (const b of this.blocks) bytes += b.bytes();
    if (this.tail) {
      bytes += this.tail.bytes();
      for (const list of this.tail.open?.values() ?? []) bytes += list.length * 8 + 32;
    }
    for (const d of this.dicts) bytes += d.bytes();
    for (const o of this.overflow) bytes += o.codes.byteLength + 32;
    return {
      profiles: this.liveProfiles,
      blocks: this.blocks.length + (this.tail ? 1 : 0),
      indexBytes: bytes,
      bytesPerProfile: this.liveProfiles === 0 ? 0 : bytes / this.liveProfiles,
    };
  }

  // ---- building ------------------------------------------------------------------------------------------

  /** Ranks loci by how rarely two random profiles share a genotype there (most selective first). */
  private computeRank(): void {
    const matchProbability = this.dicts.map((d) => {
      let total = 0;
      let sq = 0;
      for (let g = 1; g < d.size; g++) if (d.lo[g] !== WILDCARD_CODE) total += d.live[g]!;
      for (let g = 1; g < d.size; g++) if (d.lo[g] !== WILDCARD_CODE) sq += (d.live[g]! / total) ** 2;
      return total === 0 ? 1 : sq;
    });
    this.rank = [...Array(NL).keys()].sort((a, b) => matchProbability[a]! - matchProbability[b]!);
  }

  /**
   * Seals a block: single-locus postings, then pair postings over its core loci. The ESS loci are paired first
   * (every kit types them and reference profiles must have six of the seven, so requests nearly always have
   * both loci of those pairs), most selective with next most selective; then the other core loci likewise.
   */
  private sealBlock(block: Block): void {
    block.seal(this.dicts);
    const inCore = (l: number) => ((block.core >>> l) & 1) === 1;
    const ess = this.rank.filter((l) => inCore(l) && ESS_INDEXES.has(l));
    const others = this.rank.filter((l) => inCore(l) && !ESS_INDEXES.has(l));
    const pairs: Array<[number, number]> = [];
    for (const group of [ess, others]) {
      for (let i = 0; i + 1 < group.length && pairs.length < MAX_PAIRS; i += 2) pairs.push([group[i]!, group[i + 1]!]);
    }
    block.buildPairs(pairs);
  }

  /** Genotype ids for one encoded profile; false when a locus dictionary is full (profile goes to overflow). */
  private internAll(codes: Uint16Array, out: Uint16Array, offset: number): { mask: number; ok: boolean } {
    let mask = 0;
    for (let l = 0; l < NL; l++) {
      const lo = codes[2 * l]!;
      if (lo === ABSENT) {
        out[offset + l] = 0;
        continue;
      }
      const g = this.dicts[l]!.intern(lo, codes[2 * l + 1]!);
      if (g < 0) return { mask: 0, ok: false };
      out[offset + l] = g;
      if (lo !== WILDCARD_CODE) mask |= 1 << l;
    }
    return { mask, ok: true };
  }

  /** Grows the slot → position map to hold `slot`, by a quarter at a time (it is 4 bytes per profile). */
  private ensureWhere(slot: number, exact = false): void {
    if (slot < this.where.length) return;
    const n = exact ? slot + 1 : Math.max(slot + 1, Math.ceil(this.where.length * 1.25));
    const w = shared(Uint32Array, n).fill(NO_SLOT);
    w.set(this.where);
    this.where = w;
  }

  private bulkLoad(source: EngineSource, minGroupOption?: number): void {
    const expected = source.count();
    let n = 0;
    let slots = new Uint32Array(Math.max(16, expected));
    let geno = new Uint16Array(Math.max(16, expected) * NL);
    let masks = new Uint32Array(Math.max(16, expected));
    let maxSlot = 0;
    source.forEachEncoded((slot, codes) => {
      if (n === slots.length) {
        const s2 = new Uint32Array(n * 2);
        s2.set(slots);
        slots = s2;
        const m2 = new Uint32Array(n * 2);
        m2.set(masks);
        masks = m2;
        const g2 = new Uint16Array(n * 2 * NL);
        g2.set(geno);
        geno = g2;
      }
      const r = this.internAll(codes, geno, n * NL);
      if (!r.ok) {
        this.overflow.push({ slot, codes: codes.slice() });
        this.liveProfiles++;
        return;
      }
      for (let l = 0; l < NL; l++) {
        const g = geno[n * NL + l]!;
        if (g !== 0) this.dicts[l]!.live[g]!++;
      }
      slots[n] = slot;
      masks[n] = r.mask;
      if (slot > maxSlot) maxSlot = slot;
      n++;
    });
    this.ensureWhere(maxSlot, true);

    this.computeRank();
    const rank = this.rank;

    // Group profiles: by their exact set of designated loci when that set is common (a kit), else by coarser
    // keys — their most selective loci, the ESS loci they have (partial stains keep most of them) — else into
    // one rest group. A group's core (loci every member has) is what the search bound and the pairs use.
    const minGroup = minGroupOption ?? Math.max(1024, Math.ceil(n / 256));
    // Coarse keys accept smaller groups: a few more blocks cost far less than profiles without a core.
    const LEVELS: ReadonlyArray<readonly [(mask: number) => number, number]> = [
      [(m) => m, minGroup],
      [(m) => topK(m, 12), minGroup],
      [(m) => topK(m, 9), minGroup],
      [(m) => m & ESS_MASK, minGroup],
      [(m) => topK(m, 6), minGroup],
      [(m) => topK(m & ESS_MASK, 4), minGroup / 4],
      [(m) => topK(m, 4), minGroup / 4],
      [(m) => topK(m & ESS_MASK, 3), minGroup / 8],
      [(m) => topK(m, 3), minGroup / 8],
    ];
    const topK = (mask: number, k: number): number => {
      if (k >= NL) return mask;
      let out = 0;
      let taken = 0;
      for (const l of rank) {
        if (taken === k) break;
        if (mask & (1 << l)) {
          out |= 1 << l;
          taken++;
        }
      }
      return out;
    };
    const groupOf = new Int32Array(n).fill(-1);
    const groupKeys = new Map<string, number>();
    let groups = 0;
    for (const [k, [level, least]] of LEVELS.entries()) {
      const counts = new Map<number, number>();
      const keyCache = new Map<number, number>();
      const keyOf = (mask: number): number => {
        let key = keyCache.get(mask);
        if (key === undefined) {
          key = level(mask);
          keyCache.set(mask, key);
        }
        return key;
      };
      for (let i = 0; i < n; i++) {
        if (groupOf[i] !== -1) continue;
        const key = keyOf(masks[i]!);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (let i = 0; i < n; i++) {
        if (groupOf[i] !== -1) continue;
        const key = keyOf(masks[i]!);
        if ((counts.get(key) ?? 0) < least) continue;
        const name = `${k}:${key}`;
        let gi = groupKeys.get(name);
        if (gi === undefined) {
          gi = groups++;
          groupKeys.set(name, gi);
        }
        groupOf[i] = gi;
      }
    }
    const rest = groups++;
    for (let i = 0; i < n; i++) if (groupOf[i] === -1) groupOf[i] = rest;

    // Counting sort by group, keeping store order inside a group (postings come out sorted).
    const groupSize = new Uint32Array(groups);
    for (let i = 0; i < n; i++) groupSize[groupOf[i]!]!++;
    const groupStart = new Uint32Array(groups + 1);
    for (let g = 0; g < groups; g++) groupStart[g + 1] = groupStart[g]! + groupSize[g]!;
    const order = new Uint32Array(n);
    const next = groupStart.slice(0, groups);
    for (let i = 0; i < n; i++) order[next[groupOf[i]!]!++] = i;

    for (let g = 0; g < groups; g++) {
      for (let start = groupStart[g]!; start < groupStart[g + 1]!; start += this.blockSize) {
        const end = Math.min(start + this.blockSize, groupStart[g + 1]!);
        const block = new Block(end - start);
        const bi = this.blocks.length;
        for (let j = start; j < end; j++) {
          const i = order[j]!;
          const local = block.size++;
          block.slots[local] = slots[i]!;
          block.geno.set(geno.subarray(i * NL, i * NL + NL), local * NL);
          setAlive(block.alive, local, true);
          block.core &= masks[i]!;
          block.any |= masks[i]!;
          this.where[slots[i]!] = bi * BLOCK_SIZE + local;
        }
        block.live = block.size;
        this.sealBlock(block);
        this.blocks.push(block);
        this.liveProfiles += block.live;
      }
    }
  }

  // ---- updates -------------------------------------------------------------------------------------------

  /** Adds (or replaces) the profile stored at `slot`. */
  add(slot: number, profile: NormalisedProfile | DnaLoci): void {
    this.remove(slot);
    const codes = encodeLoci(isProfile(profile) ? profile.loci : profile, this.scratch);
    if (this.tail === null || this.tail.size === this.tail.capacity) {
      if (this.tail) {
        this.computeRank();
        this.sealBlock(this.tail);
        this.blocks.push(this.tail);
      }
      this.tail = new Block(this.blockSize);
      this.tail.open = new Map();
    }
    const tail = this.tail;
    const local = tail.size;
    const r = this.internAll(codes, tail.geno, local * NL);
    if (!r.ok) {
      this.overflow.push({ slot, codes: codes.slice() });
      this.liveProfiles++;
      return;
    }
    tail.size++;
    tail.live++;
    tail.slots[local] = slot;
    setAlive(tail.alive, local, true);
    tail.core &= r.mask;
    tail.any |= r.mask;
    for (let l = 0; l < NL; l++) {
      const g = tail.geno[local * NL + l]!;
      if (g === 0) continue;
      this.dicts[l]!.live[g]!++;
      if (r.mask & (1 << l)) {
        const key = l * 65536 + g;
        const list = tail.open!.get(key);
        if (list) list.push(local);
        else tail.open!.set(key, [local]);
      }
    }
    this.ensureWhere(slot);
    this.where[slot] = this.blocks.length * BLOCK_SIZE + local;
    this.liveProfiles++;
  }

  /** Removes the profile stored at `slot`; false if the index does not hold it. */
  remove(slot: number): boolean {
    const at = slot < this.where.length ? this.where[slot]! : NO_SLOT;
    if (at === NO_SLOT) {
      const i = this.overflow.findIndex((o) => o.slot === slot);
      if (i < 0) return false;
      this.overflow.splice(i, 1);
      this.liveProfiles--;
      return true;
    }
    const bi = Math.floor(at / BLOCK_SIZE);
    const local = at % BLOCK_SIZE;
    const block = bi === this.blocks.length ? this.tail : this.blocks[bi];
    if (!block || block.slots[local] !== slot || !isAlive(block.alive, local)) return false;
    setAlive(block.alive, local, false);
    block.live--;
    for (let l = 0; l < NL; l++) {
      const g = block.geno[local * NL + l]!;
      if (g !== 0) this.dicts[l]!.live[g]!--;
    }
    this.where[slot] = NO_SLOT;
    this.liveProfiles--;
    return true;
  }

  // ---- searching -----------------------------------------------------------------------------------------

  private prepare(loci: DnaLoci): Request {
    const q = this.req;
    encodeLoci(loci, q.codes);
    q.present = [];
    q.designated = [];
    q.keys = [];
    q.designatedMask = 0;
    q.slotOf.fill(-1);
    for (let l = 0; l < NL; l++) {
      const a = q.codes[2 * l]!;
      if (a === ABSENT) continue;
      q.present.push(l);
      if (a === WILDCARD_CODE) continue;
      const b = q.codes[2 * l + 1]!;
      q.slotOf[l] = q.designated.length;
      q.designated.push(l);
      q.designatedMask |= 1 << l;
      const keys: number[] = [];
      const d = this.dicts[l]!;
      for (const u of equivalentCodes(MAX_DIGIT[l]!, a)) {
        for (const v of equivalentCodes(MAX_DIGIT[l]!, b)) {
          const id = u <= v ? d.idOf(u, v) : d.idOf(v, u);
          if (id !== undefined && !keys.includes(id)) keys.push(id);
        }
      }
      q.keys.push(keys);
      let marks = this.marks[l]!;
      if (marks.length < d.size) marks = this.marks[l] = new Uint8Array(d.lo.length);
      for (const g of keys) marks[g] = 1;
    }
    const common = q.designated.map((l, j) => q.keys[j]!.reduce((n, g) => n + this.dicts[l]!.live[g]!, 0));
    q.checkOrder = q.designated.map((l, j) => [l, common[j]!] as const).sort((a, b) => a[1] - b[1]).map(([l]) => l);
    return q;
  }

  /** Clears the marks set by prepare (only the few entries it set). */
  private release(q: Request): void {
    for (let j = 0; j < q.designated.length; j++) {
      const marks = this.marks[q.designated[j]!]!;
      for (const g of q.keys[j]!) marks[g] = 0;
    }
  }

  /** Full rules on one stored profile, from genotype ids; pushes a hit to `out` when it is one. */
  private verify(q: Request, block: Block, i: number, out: EngineHit[]): void {
    // The member's live flag and store slot are read only for a profile that passes the rules: each is one more
    // cache miss per candidate (the index is far larger than the caches), and nearly every candidate fails the
    // pre-check. A dead member's genotype row stays as it was, so checking it first is harmless.
    const geno = block.geno;
    const row = i * NL;
    // Pre-check on the request's designated loci: a genotype there either matches (marked) or, if designated,
    // carries at least one differing allele. Two such loci, or fewer than six matches, rule the profile out.
    let matching = 0;
    let differing = 0;
    const marks = this.marks;
    for (const l of q.checkOrder) {
      const g = geno[row + l]!;
      if (g === 0) continue;
      if (marks[l]![g] === 1) matching++;
      else if (this.dicts[l]!.lo[g] !== WILDCARD_CODE && ++differing > 1) return;
    }
    if (matching < MIN_MATCHING_LOCI) return;
    let mismatches = 0;
    let compared = 0;
    let micro = 0;
    let wild = 0;
    const codes = q.codes;
    for (const l of q.present) {
      const g = geno[row + l]!;
      if (g === 0) continue;
      const d = this.dicts[l]!;
      const s = compareLocusCodes(MAX_DIGIT[l]!, codes[2 * l]!, codes[2 * l + 1]!, d.lo[g]!, d.hi[g]!);
      compared++;
      mismatches += s >> 2;
      if (mismatches > 1) return;
      micro |= s & 2;
      wild |= s & 1;
    }
    if (!isAlive(block.alive, i)) return;
    out.push({ slot: block.slots[i]!, quality: hitQuality(mismatches, micro !== 0, wild !== 0), hitcount: compared * 2 - mismatches });
  }

  private verifyCodes(q: Request, codes: Uint16Array, slot: number, out: EngineHit[]): void {
    // Overflow profiles keep raw codes; give them temporary genotype rows through a throwaway lookup.
    let mismatches = 0;
    let matching = 0;
    let compared = 0;
    let micro = 0;
    let wild = 0;
    for (const l of q.present) {
      const lo = codes[2 * l]!;
      if (lo === ABSENT) continue;
      const r1 = q.codes[2 * l]!;
      const s = compareLocusCodes(MAX_DIGIT[l]!, r1, q.codes[2 * l + 1]!, lo, codes[2 * l + 1]!);
      compared++;
      mismatches += s >> 2;
      if (mismatches > 1) return;
      micro |= s & 2;
      wild |= s & 1;
      if (s < 4 && r1 !== WILDCARD_CODE && lo !== WILDCARD_CODE) matching++;
    }
    if (matching < MIN_MATCHING_LOCI) return;
    out.push({ slot, quality: hitQuality(mismatches, micro !== 0, wild !== 0), hitcount: compared * 2 - mismatches });
  }

  private listLength(block: Block, l: number, keys: readonly number[]): number {
    let len = 0;
    if (block.sealed) {
      const b = block.base[l]!;
      const glen = block.glen[l]!;
      for (const g of keys) if (g < glen) len += block.offsets[b + g + 1]! - block.offsets[b + g]!;
    } else {
      for (const g of keys) len += block.open!.get(l * 65536 + g)?.length ?? 0;
    }
    return len;
  }

  /**
   * Blocks with the same core and locus pairs share a layout id: a search plans once per layout (see
   * searchBlock). Pairs and core never change once a block is sealed.
   */
  private layoutOf(block: Block): number {
    if (block.layout >= 0) return block.layout;
    const key = `${block.core}:${block.pairLoci.join(',')}`;
    let id = this.layouts.get(key);
    if (id === undefined) {
      id = this.layouts.size;
      this.layouts.set(key, id);
    }
    block.layout = id;
    if (id >= this.planStamp.length) {
      const n = Math.max(id + 1, this.planStamp.length * 2);
      const grow = <T extends Int32Array | Int8Array>(a: T, size: number): T => {
        const b = new (a.constructor as new (n: number) => T)(size);
        b.set(a);
        return b;
      };
      this.planStamp = grow(this.planStamp, n);
      this.planKind = grow(this.planKind, n);
      this.planK = grow(this.planK, n);
      this.planT = grow(this.planT, n);
      this.planRefs = grow(this.planRefs, n * NL);
    }
    return id;
  }

  /** Appends to `ranges` (from index `nr`) the runs of pair `pi`'s member list matching the request; returns the new end. */
  private pairRanges(q: Request, block: Block, pi: number, nr: number): number {
    const l1 = block.pairLoci[2 * pi]!;
    const l2 = block.pairLoci[2 * pi + 1]!;
    const dir = block.pairDir[pi]!;
    const second = block.pairSecond[pi]!;
    const ranges = this.ranges;
    for (const a of q.keys[q.slotOf[l1]!]!) {
      if (a + 1 >= dir.length) continue;
      const lo = dir[a]!;
      const hi = dir[a + 1]!;
      if (lo === hi) continue;
      for (const b of q.keys[q.slotOf[l2]!]!) {
        const r0 = lowerBound(second, lo, hi, b);
        let r1 = r0;
        while (r1 < hi && second[r1] === b) r1++; // ranges are short; the scan costs what counting them will
        if (r1 === r0) continue;
        ranges[2 * nr] = r0;
        ranges[2 * nr + 1] = r1;
        nr++;
      }
    }
    return nr;
  }

  /**
   * Picks the cheapest plan for a block from its list lengths: a scan (bestPlan 0), the k shortest single-locus
   * lists with T(S) (1), or the k shortest core features with T = k − 1 (2). Leaves the chosen lists in `sel`
   * (designated index, or −1 − pair index with its ranges in `selFrom`/`selTo`) and returns [plan, k, T].
   */
  private plan(q: Request, block: Block): readonly [number, number, number] {
    const nd = q.designated.length;
    const lens = this.lens;
    const order = this.order;
    for (let j = 0; j < nd; j++) {
      const len = this.listLength(block, q.designated[j]!, q.keys[j]!);
      lens[j] = len;
      let k = j;
      while (k > 0 && lens[order[k - 1]!]! > len) {
        order[k] = order[k - 1]!;
        k--;
      }
      order[k] = j;
    }
    const e = this.esp;
    let bestCost = block.size * SCAN_COST;
    let bestPlan = 0;
    let bestK = 0;
    let bestT = 0;

    // Plan 1: the k shortest single-locus lists; T from both bounds (see the header).
    e.fill(0);
    e[0] = 1;
    let sum = 0;
    let inCore = 0;
    for (let k = 1; k <= nd; k++) {
      const j = order[k - 1]!;
      const p = Math.min(1, lens[j]! / block.size);
      sum += lens[j]!;
      for (let t = Math.min(k, 6); t >= 1; t--) e[t]! += p * e[t - 1]!;
      if (block.core & (1 << q.designated[j]!)) inCore++;
      const T = Math.max(MIN_MATCHING_LOCI - (nd - k), inCore - 1);
      if (T < 1) continue;
      const cost = sum + Math.min(sum, block.size * e[Math.min(T, 6)]!) * VERIFY_COST;
      if (cost < bestCost) {
        bestCost = cost;
        bestPlan = 1;
        bestK = k;
        bestT = T;
      }
    }

    // Plan 2: features made of core loci the request has — the block's locus pairs where the request has
    // both, and the remaining core loci alone. Features are disjoint and every locus in them is designated in
    // both profiles, so a hit (one differing allele at most) fails at most one feature: T = features − 1.
    const coreD = block.core & q.designatedMask;
    const fLen = this.featureLen;
    const fRef = this.featureRef;
    const fOrder = this.featureOrder;
    const ranges = this.ranges;
    let nf = 0;
    if (block.pairLoci.length > 0 && popcount(coreD) >= 2) {
      let used = 0;
      let nr = 0;
      for (let pi = 0; pi < block.pairDir.length; pi++) {
        const l1 = block.pairLoci[2 * pi]!;
        const l2 = block.pairLoci[2 * pi + 1]!;
        if (!((coreD >>> l1) & 1) || !((coreD >>> l2) & 1)) continue;
        const from = nr;
        nr = this.pairRanges(q, block, pi, nr);
        let len = 0;
        for (let r = from; r < nr; r++) len += ranges[2 * r + 1]! - ranges[2 * r]!;
        used |= (1 << l1) | (1 << l2);
        this.featureFrom[nf] = from;
        this.featureTo[nf] = nr;
        fRef[nf] = -1 - pi; // negative: pair index
        fLen[nf] = len;
        nf++;
      }
      for (let j = 0; j < nd; j++) {
        const l = q.designated[j]!;
        if (!((coreD >>> l) & 1) || (used >>> l) & 1) continue;
        fRef[nf] = j; // non-negative: single locus (index into designated)
        fLen[nf] = lens[j]!;
        nf++;
      }
      for (let f = 0; f < nf; f++) {
        let k = f;
        while (k > 0 && fLen[fOrder[k - 1]!]! > fLen[f]!) {
          fOrder[k] = fOrder[k - 1]!;
          k--;
        }
        fOrder[k] = f;
      }
      e.fill(0);
      e[0] = 1;
      sum = 0;
      for (let k = 1; k <= nf; k++) {
        const f = fOrder[k - 1]!;
        const p = Math.min(1, fLen[f]! / block.size);
        sum += fLen[f]!;
        for (let t = Math.min(k, 6); t >= 1; t--) e[t]! += p * e[t - 1]!;
        const T = k - 1;
        if (T < 1) continue;
        const cost = sum + Math.min(sum, block.size * e[Math.min(T, 6)]!) * VERIFY_COST;
        if (cost < bestCost) {
          bestCost = cost;
          bestPlan = 2;
          bestK = k;
          bestT = T;
        }
      }
    }
    const sel = this.sel;
    for (let k = 0; k < bestK; k++) {
      if (bestPlan === 1) sel[k] = order[k]!;
      else {
        const f = fOrder[k]!;
        sel[k] = fRef[f]!;
        this.selFrom[k] = this.featureFrom[f]!;
        this.selTo[k] = this.featureTo[f]!;
      }
    }
    return [bestPlan, bestK, bestT];
  }

  /**
   * One block. The plan depends on the block's core, its locus pairs and its list lengths; the blocks of a group
   * share core and pairs and, drawn from the same population, nearly the same length ratios. So a search plans
   * on the first block of each layout (core + pairs) and reuses that plan for the layout's other blocks: the
   * bound T is valid for every block with that core and those pairs (see the header); only the cost estimate
   * was made on another block. At 10 M profiles (~170 blocks, a few dozen layouts) that saves most of the fixed
   * cost per block (list lengths, cost model, pair look-ups of features the plan does not use).
   */
  private searchBlock(q: Request, block: Block, out: EngineHit[]): void {
    if (block.live === 0) return;
    // No member can have six designated loci in common with the request.
    if (popcount(block.any & q.designatedMask) < MIN_MATCHING_LOCI) {
      this.lastSearch.skippedBlocks++;
      return;
    }
    const sel = this.sel;
    const selFrom = this.selFrom;
    const selTo = this.selTo;
    let bestPlan: number;
    let bestK: number;
    let T: number;
    const L = block.sealed ? this.layoutOf(block) : -1;
    if (L >= 0 && this.planStamp[L] === this.searchStamp) {
      bestPlan = this.planKind[L]!;
      bestK = this.planK[L]!;
      T = this.planT[L]!;
      let nr = 0;
      for (let k = 0; k < bestK; k++) {
        const ref = this.planRefs[L * NL + k]!;
        sel[k] = ref;
        if (ref < 0) {
          selFrom[k] = nr;
          nr = this.pairRanges(q, block, -1 - ref, nr);
          selTo[k] = nr;
        }
      }
    } else {
      [bestPlan, bestK, T] = this.plan(q, block);
      if (L >= 0) {
        this.planStamp[L] = this.searchStamp;
        this.planKind[L] = bestPlan;
        this.planK[L] = bestK;
        this.planT[L] = T;
        for (let k = 0; k < bestK; k++) this.planRefs[L * NL + k] = sel[k]!;
      }
    }

    if (bestPlan === 0) {
      this.lastSearch.scannedBlocks++;
      this.lastSearch.verified += block.size;
      for (let i = 0; i < block.size; i++) if (isAlive(block.alive, i)) this.verify(q, block, i, out);
      return;
    }

    const counts = this.counts;
    if (++this.epoch === 2048) {
      counts.fill(0);
      this.epoch = 1;
    }
    const stamp = this.epoch << 5;
    const candidates = this.candidates;
    const ranges = this.ranges;
    let found = 0;
    let counted = 0;
    const ids = block.ids;
    const offsets = block.offsets;
    // The longest list first (lists are sorted shortest first): no member has been counted yet, so its entries
    // are written without reading the counter (each member is at most once in a list: one genotype per locus).
    for (let kk = 0; kk < bestK; kk++) {
      const k = kk === 0 ? bestK - 1 : kk - 1;
      const fresh = kk === 0 && T > 1;
      const j = sel[k]!;
      if (j < 0) {
        // A pair feature: its ranges over the pair's member list.
        const pairIds = block.pairIds[-1 - j]!;
        const before = counted;
        for (let r = selFrom[k]!; r < selTo[k]!; r++) {
          const end = ranges[2 * r + 1]!;
          const start = ranges[2 * r]!;
          counted += end - start;
          found = this.countRun(pairIds, start, end, stamp, T, fresh, found);
        }
        this.lastSearch.pairEntries += counted - before;
        continue;
      }
      const l = q.designated[j]!;
      for (const g of q.keys[j]!) {
        if (block.sealed) {
          if (g >= block.glen[l]!) continue;
          const b = block.base[l]! + g;
          const end = offsets[b + 1]!;
          const start = offsets[b]!;
          counted += end - start;
          found = this.countRun(ids, start, end, stamp, T, fresh, found);
        } else {
          const list = block.open!.get(l * 65536 + g);
          if (!list) continue;
          counted += list.length;
          for (const x of list) {
            const v = counts[x]!;
            const next = (v & ~31) === stamp ? v + 1 : stamp + 1;
            counts[x] = next;
            if ((next & 31) === T) candidates[found++] = x;
          }
        }
      }
    }
    this.lastSearch.entries += counted;
    this.lastSearch.verified += found;
    // Touch every candidate's genotype row (both ends: a 46-byte row often spans two cache lines) before checking
    // any: these loads are independent, so the memory system serves them together, where the checks, one after
    // the other, would wait for each row's cache misses in turn.
    const geno = block.geno;
    let touched = 0;
    for (let c = 0; c < found; c++) {
      const row = candidates[c]! * NL;
      touched ^= geno[row]! ^ geno[row + NL - 1]!;
    }
    this.touched ^= touched;
    for (let c = 0; c < found; c++) this.verify(q, block, candidates[c]!, out);
  }

  /**
   * Counts the members list[start..end) and appends those reaching T to `candidates` (from `found`); returns the
   * new number of candidates. `fresh`: the block's first list, with T > 1 (no counter to read, no candidate yet).
   */
  private countRun(list: Uint16Array, start: number, end: number, stamp: number, T: number, fresh: boolean, found: number): number {
    const counts = this.counts;
    if (fresh) {
      const one = stamp + 1;
      for (let p = start; p < end; p++) counts[list[p]!] = one;
      return found;
    }
    const candidates = this.candidates;
    for (let p = start; p < end; p++) {
      const x = list[p]!;
      const v = counts[x]!;
      const next = (v & ~31) === stamp ? v + 1 : stamp + 1;
      counts[x] = next;
      if ((next & 31) === T) candidates[found++] = x;
    }
    return found;
  }

  /** Hits as slots, quality and hitcount, in no particular order; no store access. */
  searchSlots(loci: DnaLoci): EngineHit[] {
    const w = this.lastSearch;
    w.entries = w.pairEntries = w.verified = w.scannedBlocks = w.skippedBlocks = 0;
    const q = this.prepare(loci);
    const out: EngineHit[] = [];
    this.searchStamp = (this.searchStamp + 1) | 0 || 1;
    if (q.designated.length >= MIN_MATCHING_LOCI) {
      for (const block of this.blocks) this.searchBlock(q, block, out);
      if (this.tail) this.searchBlock(q, this.tail, out);
      for (const o of this.overflow) this.verifyCodes(q, o.codes, o.slot, out);
    }
    this.release(q);
    return out;
  }

  /** The naive full scan with the same rules: every live profile verified. Baseline for benchmarks. */
  searchSlotsNaive(loci: DnaLoci): EngineHit[] {
    const q = this.prepare(loci);
    const out: EngineHit[] = [];
    const all = this.tail ? [...this.blocks, this.tail] : this.blocks;
    for (const block of all) {
      for (let i = 0; i < block.size; i++) if (isAlive(block.alive, i)) this.verify(q, block, i, out);
    }
    for (const o of this.overflow) this.verifyCodes(q, o.codes, o.slot, out);
    this.release(q);
    return out;
  }

  /** Hits with the stored records, best quality first, then by national id. */
  search(profile: NormalisedProfile | DnaLoci): Hit[] {
    const loci = isProfile(profile) ? profile.loci : profile;
    return this.resolveHits(loci, this.searchSlots(loci));
  }

  /**
   * Slot hits (from `searchSlots`, here or in a search worker over the same index) as hits with their stored
   * records, best quality first, then by national id.
   */
  resolveHits(loci: DnaLoci, slotHits: readonly EngineHit[]): Hit[] {
    const hits: Hit[] = [];
    for (const h of slotHits) {
      const record = this.source.get(h.slot);
      // A slot the store no longer has was deleted behind the engine's back: not a hit any more.
      if (!record) continue;
      // The index can be older than the store (an import replaced the profile in place and the rebuild is not in
      // use yet): what we send is the stored record, so the rules decide on it once more (hits are few).
      const stored = compareProfiles(loci, record.profile.loci);
      if (stored.hit) hits.push({ slot: h.slot, quality: stored.quality, hitcount: stored.hitcount, nationalProfileId: record.id, record });
    }
    hits.sort((a, b) => a.quality - b.quality || (a.nationalProfileId < b.nationalProfileId ? -1 : a.nationalProfileId > b.nationalProfileId ? 1 : 0));
    return hits;
  }

  /** Art. 4: up to 500 profiles (the message limit); one result list per profile, in order. */
  searchBatch(profiles: ReadonlyArray<NormalisedProfile | DnaLoci>): Hit[][] {
    return profiles.map((p) => this.search(p));
  }
}

function isProfile(p: NormalisedProfile | DnaLoci): p is NormalisedProfile {
  return typeof (p as NormalisedProfile).type === 'string' && typeof (p as NormalisedProfile).loci === 'object';
}
