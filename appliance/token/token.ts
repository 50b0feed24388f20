import * as graphene from 'graphene-pk11';
import { describeCertificate, type CertificateDescription } from '../util/certificate.js';
import { X509Certificate, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { Mutex } from '../util/mutex.js';
import { acquireModule, type ModuleLease } from './pkcs11-module.js';
import { CKR, SESSION_LOST, pkcs11Code, pkcs11Name } from './pkcs11-errors.js';
import { TokenError } from './errors.js';
import { digestInfo, keyIdentifier, oaepDecode, rsaPublicKey, type TokenHash } from './rsa.js';
import { TokenCryptoKey, tokenWebCrypto } from './webcrypto.js';
import { capabilitiesFor, type TokenCapabilities } from './capabilities.js';

export { TokenError } from './errors.js';
export type { TokenErrorCode } from './errors.js';
export type { TokenHash } from './rsa.js';

/** The gateway's key labels (one key pair each, certificate stored under the same label). */
export const KEY_LABELS = { sign: 'ncp-sign', decrypt: 'ncp-decrypt', audit: 'audit' } as const;
export type GatewayKeyLabel = (typeof KEY_LABELS)[keyof typeof KEY_LABELS];

export type TokenState = 'ready' | 'absent' | 'locked' | 'pin-blocked' | 'error';

/** What the status API reports about the token. Never contains the PIN. */
export interface TokenStatus {
  readonly state: TokenState;
  readonly detail: string;
  readonly label: string;
  readonly module: string;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly serialNumber: string | null;
  /** ISO-8601 time of the last state change or health check. */
  readonly checkedAt: string;
}

/** RSA key-transport decryption; for OAEP, `mgfHash` defaults to `hash` (RFC 8017 MGF1). */
export type DecryptScheme =
  | { readonly name: 'RSA-OAEP'; readonly hash: TokenHash; readonly mgfHash?: TokenHash }
  | { readonly name: 'RSAES-PKCS1-v1_5' };

export type KeyUsageKind = 'sign' | 'decrypt';

export interface TokenKeyInfo {
  readonly kind: 'private-key' | 'public-key';
  readonly label: string;
  /** CKA_ID, hex. */
  readonly id: string;
  readonly keyType: 'RSA' | 'EC' | 'other';
  readonly bits: number | null;
  readonly canSign: boolean;
  readonly canDecrypt: boolean;
  /** Private keys only: CKA_SENSITIVE true and CKA_EXTRACTABLE false. */
  readonly sensitive: boolean | null;
  readonly extractable: boolean | null;
}

/** A certificate on the token: the one certificate description, with its token object's label and id. */
export interface TokenCertificateInfo extends CertificateDescription {
  readonly kind: 'certificate';
  readonly label: string;
  readonly id: string;
}

export type TokenObjectInfo = TokenKeyInfo | TokenCertificateInfo;

export interface TokenOpenOptions {
  /** Path of the PKCS#11 library (SoftHSM2, OpenSC, an HSM vendor's). */
  readonly module: string;
  /** CKA token label; the token is found by label whatever slot it sits in. */
  readonly label: string;
  /** Index among the slots that hold a token; when given, the token there must also carry `label`. */
  readonly slot?: number;
  readonly pin: string;
  /** SoftHSM2 only: its configuration file. Set as SOFTHSM2_CONF before the module initialises. */
  readonly softhsmConf?: string;
  /** Resolve with a Token whose status() says why it is not ready, instead of rejecting (the daemon uses this). */
  readonly allowNotReady?: boolean;
  /** Why `pin` is empty (the PIN file is not written yet…), reported as the locked state's detail. */
  readonly pinUnavailable?: string;
  /** Probe the session before use when it was idle this long (default 5 min): some HSMs drop idle sessions. */
  readonly idleCheckMs?: number;
}

const HASH_MECH: Record<TokenHash, string> = {
  'SHA-1': 'SHA1_RSA_PKCS',
  'SHA-256': 'SHA256_RSA_PKCS',
  'SHA-384': 'SHA384_RSA_PKCS',
  'SHA-512': 'SHA512_RSA_PKCS',
};
const OAEP_HASH: Record<TokenHash, { mech: graphene.MechanismEnum; mgf: graphene.RsaMgf }> = {
  'SHA-1': { mech: graphene.MechanismEnum.SHA1, mgf: graphene.RsaMgf.MGF1_SHA1 },
  'SHA-256': { mech: graphene.MechanismEnum.SHA256, mgf: graphene.RsaMgf.MGF1_SHA256 },
  'SHA-384': { mech: graphene.MechanismEnum.SHA384, mgf: graphene.RsaMgf.MGF1_SHA384 },
  'SHA-512': { mech: graphene.MechanismEnum.SHA512, mgf: graphene.RsaMgf.MGF1_SHA512 },
};

interface Connection {
  readonly lease: ModuleLease;
  readonly slot: graphene.Slot;
  readonly session: graphene.Session;
  readonly mechanisms: ReadonlySet<string>;
  readonly objects: Map<string, graphene.SessionObject>;
  readonly privateKeys: Map<string, { key: graphene.PrivateKey; modulusBytes: number }>;
  /** OAEP hashes the token's CKM_RSA_PKCS_OAEP refused: done as CKM_RSA_X_509 + host-side OAEP decoding. */
  readonly oaepOnHost: Set<string>;
}

/**
 * The one long-lived owner of the PKCS#11 module in the daemon. Every operation goes through one
 * mutex on one session: a PKCS#11 session rejects a second operation while one is active
 * (CKR_OPERATION_ACTIVE), and sign/decrypt take ~1–3 ms on SoftHSM2, so a pool buys little.
 * Private keys are generated on the token as sensitive and non-extractable and are only ever
 * referred to by label.
 */
export class Token {
  private readonly mutex = new Mutex();
  private conn: Connection | null = null;
  private current: TokenStatus;
  private pin: string;
  /** A PIN the token refused: never retried automatically, so we do not walk a card into PIN lock. */
  private refusedPin: string | null = null;
  private lastUse = 0;
  private closed = false;
  private certCache: Array<{ label: string; id: Buffer; der: Buffer }> | null = null;
  private engine: pkijs.CryptoEngine | null = null;

  private constructor(private readonly opts: TokenOpenOptions) {
    this.pin = opts.pin;
    this.current = this.makeStatus('error', 'not opened yet');
  }

  static async open(opts: TokenOpenOptions): Promise<Token> {
    const token = new Token(opts);
    await token.mutex.run(async () => token.connect());
    if (!opts.allowNotReady && token.current.state !== 'ready') {
      const status = token.current;
      await token.close();
      throw new TokenError(stateToCode(status.state), `token "${opts.label}": ${status.state}: ${status.detail}`);
    }
    return token;
  }

  get label(): string {
    return this.opts.label;
  }

  status(): TokenStatus {
    return this.current;
  }

  /** What we know about this kind of token (mechanisms, quirks); see capabilities.ts. */
  capabilities(): TokenCapabilities {
    return capabilitiesFor(this.current.manufacturer, this.current.model, this.conn?.mechanisms ?? new Set());
  }

  /** Probes the session (C_GetSessionInfo) and reconnects when needed; for the status API's periodic check. */
  async checkHealth(): Promise<TokenStatus> {
    await this.mutex.run(async () => {
      if (this.closed) return;
      if (!this.conn) {
        this.connect();
        return;
      }
      this.probe(this.conn);
      this.current = { ...this.current, checkedAt: new Date().toISOString() };
    }).catch(() => undefined);
    return this.current;
  }

  /** Re-reads the token from scratch (after a card was inserted, a PIN changed…). */
  async reconnect(): Promise<TokenStatus> {
    await this.mutex.run(async () => {
      this.disconnect();
      this.connect();
    });
    return this.current;
  }

  /** Supplies a new PIN (operator typed it in the console) and logs in with it. */
  async setPin(pin: string): Promise<TokenStatus> {
    this.pin = pin;
    this.refusedPin = null;
    return this.reconnect();
  }

  /**
   * Whether `pin` is the user PIN. Login state belongs to the whole process in PKCS#11, so once logged
   * in, C_Login cannot tell a wrong PIN (CKR_USER_ALREADY_LOGGED_IN); C_SetPIN(pin, pin) checks the old
   * PIN of the logged-in user instead. On cards a wrong PIN here counts as a failed try, like a login.
   */
  async verifyPin(pin: string): Promise<boolean> {
    return this.withSession(async (c) => {
      try {
        c.session.setPin(pin, pin);
        return true;
      } catch (e) {
        const code = pkcs11Code(e);
        if (code === CKR.PIN_INCORRECT || code === CKR.PIN_INVALID || code === CKR.PIN_LEN_RANGE) return false;
        if (code === CKR.PIN_LOCKED) throw new TokenError('PIN_BLOCKED', 'the user PIN is blocked');
        throw e;
      }
    });
  }

  /** RSASSA-PKCS1-v1_5 over `data` (hashed here or on the token) with the private key `label`. */
  async sign(label: string, data: Uint8Array, hash: TokenHash = 'SHA-256'): Promise<Buffer> {
    return this.withSession(async (c) => {
      const { key, modulusBytes } = this.keyOnToken(c, label);
      if (c.mechanisms.has(HASH_MECH[hash])) return signOnce(c, HASH_MECH[hash], key, Buffer.from(data), modulusBytes);
      if (!c.mechanisms.has('RSA_PKCS')) throw new TokenError('UNSUPPORTED', `token offers neither ${HASH_MECH[hash]} nor RSA_PKCS`);
      return signOnce(c, 'RSA_PKCS', key, digestInfo(hash, data), modulusBytes);
    });
  }

  /** RSA decryption of a key-transport block (RSA-OAEP or PKCS#1 v1.5) with the private key `label`. */
  async decrypt(label: string, data: Uint8Array, scheme: DecryptScheme): Promise<Buffer> {
    return this.withSession(async (c) => {
      const { key, modulusBytes: k } = this.keyOnToken(c, label);
      const input = Buffer.from(data);
      const run = (mech: graphene.MechanismType): Promise<Buffer> =>
        callback<Buffer>((cb) => c.session.createDecipher(mech, key).once(input, Buffer.alloc(Math.max(k, 512)), cb));
      try {
        if (scheme.name === 'RSAES-PKCS1-v1_5') return await run('RSA_PKCS');
        const mgfHash = scheme.mgfHash ?? scheme.hash;
        const variant = `${scheme.hash}/${mgfHash}`;
        if (!c.oaepOnHost.has(variant)) {
          try {
            return await run({ name: 'RSA_PKCS_OAEP', params: new graphene.RsaOaepParams(OAEP_HASH[scheme.hash].mech, OAEP_HASH[mgfHash].mgf) });
          } catch (e) {
            const code = pkcs11Code(e);
            const unsupported = code === CKR.ARGUMENTS_BAD || code === CKR.MECHANISM_INVALID || code === CKR.MECHANISM_PARAM_INVALID;
            if (!unsupported || !c.mechanisms.has('RSA_X_509')) throw e;
            c.oaepOnHost.add(variant);
          }
        }
        const plain = oaepDecode(await run('RSA_X_509'), k, scheme.hash, mgfHash);
        if (!plain) throw new TokenError('DECRYPT_FAILED', `RSA-OAEP decoding failed with "${label}"`);
        return plain;
      } catch (e) {
        const code = pkcs11Code(e);
        // A key not allowed to decrypt (e.g. a message encrypted to our signing certificate) is the sender's mistake, too.
        if (
          code === CKR.ENCRYPTED_DATA_INVALID ||
          code === CKR.ENCRYPTED_DATA_LEN_RANGE ||
          code === CKR.GENERAL_ERROR ||
          code === CKR.KEY_FUNCTION_NOT_PERMITTED ||
          code === CKR.KEY_TYPE_INCONSISTENT
        ) {
          throw new TokenError('DECRYPT_FAILED', `token could not decrypt with "${label}": ${pkcs11Name(e)}`);
        }
        throw e;
      }
    });
  }

  /** Generates an RSA key pair on the token: private half sensitive, non-extractable, for one usage only. */
  async generateKeyPair(
    label: string,
    options: { usage: KeyUsageKind; bits?: number; signsOwnRequest?: boolean },
  ): Promise<{ label: string; id: string; publicKey: KeyObject }> {
    return this.withSession(async (c) => {
      if (findAll(c.session, { class: graphene.ObjectClass.PRIVATE_KEY, label }).length > 0) {
        throw new TokenError('KEY_EXISTS', `a private key labelled "${label}" already exists on the token`);
      }
      const sign = options.usage === 'sign';
      // A decryption key for a national CA must sign its own PKCS#10 request (proof of possession): the
      // certificate's key usage (keyEncipherment only) is what restricts it then, not CKA_SIGN.
      const maySign = sign || options.signsOwnRequest === true;
      // A temporary id; replaced by the RFC 5280 key identifier once the public key is known.
      const tmpId = Buffer.from(c.session.generateRandom(20));
      const pair = await callback<graphene.IKeyPair>((cb) =>
        c.session.generateKeyPair(
          graphene.KeyGenMechanism.RSA,
          {
            keyType: graphene.KeyType.RSA,
            token: true,
            private: false,
            label,
            id: tmpId,
            verify: maySign,
            encrypt: !sign,
            wrap: !sign,
            modulusBits: options.bits ?? 2048,
            publicExponent: Buffer.from([1, 0, 1]),
          },
          {
            keyType: graphene.KeyType.RSA,
            token: true,
            private: true,
            sensitive: true,
            extractable: false,
            label,
            id: tmpId,
            sign: maySign,
            decrypt: !sign,
            unwrap: !sign,
          },
          cb,
        ),
      );
      const attrs = pair.publicKey.getAttribute({ modulus: null, publicExponent: null });
      const publicKey = rsaPublicKey(attrs.modulus as Buffer, attrs.publicExponent as Buffer);
      let id = keyIdentifier(publicKey);
      try {
        pair.publicKey.setAttribute({ id });
        pair.privateKey.setAttribute({ id });
      } catch {
        // Some cards make CKA_ID read-only after creation: the pair keeps its (shared) random id.
        id = tmpId;
      }
      return { label, id: id.toString('hex'), publicKey };
    });
  }

  /** The public key of the key pair `label` (from the public object, or the private key's modulus). */
  async publicKey(label: string): Promise<KeyObject> {
    return this.withSession(async (c) => this.publicKeyOf(c, label));
  }

  async hasPrivateKey(label: string): Promise<boolean> {
    return this.withSession(async (c) => findAll(c.session, { class: graphene.ObjectClass.PRIVATE_KEY, label }).length > 0);
  }

  /** Keys and certificates on the token, with labels, ids, sizes and certificate expiry. */
  async listObjects(now: Date = new Date()): Promise<TokenObjectInfo[]> {
    return this.withSession(async (c) => {
      const out: TokenObjectInfo[] = [];
      for (const cls of [graphene.ObjectClass.PRIVATE_KEY, graphene.ObjectClass.PUBLIC_KEY] as const) {
        for (const obj of findAll(c.session, { class: cls })) {
          const a = obj.getAttribute({ label: null, id: null, keyType: null });
          const isPrivate = cls === graphene.ObjectClass.PRIVATE_KEY;
          const rsa = a.keyType === graphene.KeyType.RSA;
          const modulus = rsa ? (obj.getAttribute({ modulus: null }).modulus as Buffer | undefined) : undefined;
          const flags = obj.getAttribute(
            isPrivate ? { sign: null, decrypt: null, sensitive: null, extractable: null } : { verify: null, encrypt: null },
          );
          out.push({
            kind: isPrivate ? 'private-key' : 'public-key',
            label: String(a.label ?? ''),
            id: (a.id as Buffer | undefined)?.toString('hex') ?? '',
            keyType: rsa ? 'RSA' : a.keyType === graphene.KeyType.EC ? 'EC' : 'other',
            bits: modulus ? bitLength(modulus) : null,
            canSign: Boolean(isPrivate ? flags.sign : flags.verify),
            canDecrypt: Boolean(isPrivate ? flags.decrypt : flags.encrypt),
            sensitive: isPrivate ? Boolean(flags.sensitive) : null,
            extractable: isPrivate ? Boolean(flags.extractable) : null,
          });
        }
      }
      for (const cert of this.readCertificates(c)) {
        out.push(describeTokenCertificate(cert.label, cert.id, cert.der, now));
      }
      return out;
    });
  }

  /** X.509 certificates stored on the token (cached; invalidated by storeCertificate). */
  async certificates(): Promise<ReadonlyArray<{ label: string; id: Buffer; der: Buffer }>> {
    return this.withSession(async (c) => this.readCertificates(c));
  }

  /** The certificate stored under `label`, as PEM, or null. */
  async certificatePem(label: string): Promise<string | null> {
    const cert = (await this.certificates()).find((x) => x.label === label);
    return cert ? derToPem(cert.der) : null;
  }

  /**
   * Stores a certificate on the token under `label` (replacing one with that label), with the id of
   * the key pair it belongs to. Rejects with CERT_MISMATCH when its public key is not that key's.
   */
  async storeCertificate(label: string, certDer: Uint8Array): Promise<void> {
    await this.withSession(async (c) => {
      const cert = new X509Certificate(Buffer.from(certDer));
      const key = this.publicKeyOf(c, label);
      if (!cert.publicKey.equals(key)) {
        throw new TokenError('CERT_MISMATCH', `certificate ${cert.subject.replace(/\n/g, ', ')} does not match the key "${label}"`);
      }
      // The key pair's own CKA_ID, so tools pairing keys and certificates by id (OpenSC, libp11) find them.
      const keyId = findAll(c.session, { class: graphene.ObjectClass.PRIVATE_KEY, label })[0]?.getAttribute({ id: null }).id as Buffer | undefined;
      const id = keyId && keyId.length ? keyId : keyIdentifier(key);
      const parsed = pkijs.Certificate.fromBER(new Uint8Array(certDer));
      for (const old of findAll(c.session, { class: graphene.ObjectClass.CERTIFICATE, label })) c.session.destroy(old);
      c.session.create({
        class: graphene.ObjectClass.CERTIFICATE,
        certType: graphene.CertificateType.X_509,
        token: true,
        private: false,
        label,
        id,
        subject: Buffer.from(parsed.subject.toSchema().toBER()),
        issuer: Buffer.from(parsed.issuer.toSchema().toBER()),
        serial: Buffer.from(parsed.serialNumber.toBER()),
        value: Buffer.from(certDer),
      });
      this.certCache = null;
    });
  }

  /** Removes every object (keys, certificates) carrying `label`. For re-provisioning development tokens. */
  async destroyObjects(label: string): Promise<number> {
    return this.withSession(async (c) => {
      const objs = findAll(c.session, { label });
      for (const o of objs) c.session.destroy(o);
      c.objects.clear();
      c.privateKeys.clear();
      this.certCache = null;
      return objs.length;
    });
  }

  /**
   * Gives every object labelled `from` the label `to` (a renewed key taking over its purpose's label).
   * Refuses when `to` still has a private key: the old one must be removed first.
   */
  async relabel(from: string, to: string): Promise<number> {
    return this.withSession(async (c) => {
      if (findAll(c.session, { class: graphene.ObjectClass.PRIVATE_KEY, label: to }).length > 0) {
        throw new TokenError('KEY_EXISTS', `a private key labelled "${to}" already exists on the token`);
      }
      const objs = findAll(c.session, { label: from });
      for (const o of objs) o.setAttribute({ label: to });
      c.objects.clear();
      c.privateKeys.clear();
      this.certCache = null;
      return objs.length;
    });
  }

  /** A handle usable with tokenWebCrypto()/cryptoEngine(): the private key stays on the token. */
  privateKey(label: string, algorithm: 'RSASSA-PKCS1-v1_5' | 'RSA-OAEP' | 'RSAES-PKCS1-v1_5', hash: TokenHash = 'SHA-256'): TokenCryptoKey {
    return new TokenCryptoKey(this, label, algorithm, hash);
  }

  /** A WebCrypto whose sign/decrypt route token keys (privateKey()) through this Token; everything else is Node's. */
  webcrypto(): Crypto {
    return tokenWebCrypto(this);
  }

  /** A pkijs engine on webcrypto(), for code that builds CMS/X.509 with pkijs and signs on the token. */
  cryptoEngine(): pkijs.CryptoEngine {
    this.engine ??= new pkijs.CryptoEngine({ name: 'pruem-token', crypto: this.webcrypto() });
    return this.engine;
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.closed = true;
      this.disconnect();
      this.current = this.makeStatus('error', 'closed');
    });
  }

  // ---- internals (all called with the mutex held) ----

  private async withSession<T>(work: (c: Connection) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      if (this.closed) throw new TokenError('TOKEN_ERROR', 'token is closed');
      let c = this.readyConnection();
      if (Date.now() - this.lastUse > (this.opts.idleCheckMs ?? 5 * 60_000)) this.probe(c);
      c = this.readyConnection();
      try {
        const result = await work(c);
        this.lastUse = Date.now();
        return result;
      } catch (e) {
        const code = pkcs11Code(e);
        if (code === CKR.USER_NOT_LOGGED_IN) {
          this.login(c);
        } else if (code !== null && SESSION_LOST.has(code)) {
          this.disconnect();
          this.connect();
        } else {
          throw wrap(e);
        }
        // One retry after re-login / reconnect; a second failure is reported as it is.
        const again = this.readyConnection();
        try {
          const result = await work(again);
          this.lastUse = Date.now();
          return result;
        } catch (e2) {
          throw wrap(e2);
        }
      }
    });
  }

  private readyConnection(): Connection {
    if (!this.conn || this.current.state !== 'ready') {
      const lockedBySamePin = (this.current.state === 'locked' || this.current.state === 'pin-blocked') && this.refusedPin === this.pin;
      if (!lockedBySamePin) {
        this.disconnect();
        this.connect();
      }
    }
    if (!this.conn || this.current.state !== 'ready') {
      throw new TokenError(stateToCode(this.current.state), `token "${this.opts.label}" is ${this.current.state}: ${this.current.detail}`);
    }
    return this.conn;
  }

  /** C_GetSessionInfo: a session that died while idle (CKR_DEVICE_ERROR on some HSMs) is replaced now, not mid-operation. */
  private probe(c: Connection): void {
    try {
      const info = c.session.lib.C_GetSessionInfo(c.session.handle);
      const loggedIn = info.state === 1 /* CKS_RO_USER_FUNCTIONS */ || info.state === 3; /* CKS_RW_USER_FUNCTIONS */
      if (!loggedIn) this.login(c);
      this.lastUse = Date.now();
    } catch {
      this.disconnect();
      this.connect();
    }
  }

  private connect(): void {
    let lease: ModuleLease;
    try {
      lease = acquireModule(this.opts.module, this.opts.softhsmConf);
    } catch (e) {
      this.current = this.makeStatus('error', (e as Error).message);
      return;
    }
    try {
      const slot = this.findSlot(lease.module);
      if (!slot) {
        lease.release();
        this.current = this.makeStatus(
          'absent',
          this.opts.slot !== undefined
            ? `no token labelled "${this.opts.label}" in slot ${this.opts.slot}`
            : `no token labelled "${this.opts.label}" (is the card inserted / the token initialised?)`,
        );
        return;
      }
      const info = slot.getToken();
      const ident = { manufacturer: info.manufacturerID.trim(), model: info.model.trim(), serialNumber: info.serialNumber.trim() };
      if (info.flags & graphene.TokenFlag.USER_PIN_LOCKED) {
        lease.release();
        this.refusedPin = this.pin;
        this.current = this.makeStatus('pin-blocked', 'the user PIN is blocked; unblock it with the SO PIN', ident);
        return;
      }
      if (!(info.flags & graphene.TokenFlag.USER_PIN_INITIALIZED)) {
        lease.release();
        this.current = this.makeStatus('locked', 'the user PIN of the token is not initialised', ident);
        return;
      }
      const rw = !(info.flags & graphene.TokenFlag.WRITE_PROTECTED);
      const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | (rw ? graphene.SessionFlag.RW_SESSION : 0));
      const mechs = new Set<string>();
      const list = slot.getMechanisms();
      for (let i = 0; i < list.length; i++) {
        const m = list.tryGetItem(i);
        if (m) mechs.add(m.name);
      }
      const conn: Connection = { lease, slot, session, mechanisms: mechs, objects: new Map(), privateKeys: new Map(), oaepOnHost: new Set() };
      this.conn = conn;
      if (this.refusedPin !== null && this.refusedPin === this.pin) {
        this.current = this.makeStatus('locked', 'the configured PIN was refused before; supply another one', ident);
        return;
      }
      if (this.pin === '') {
        // No PIN yet (an unprovisioned box): never try an empty one, a card would count it as a wrong try.
        this.current = this.makeStatus('locked', this.opts.pinUnavailable ?? 'no PIN configured', ident);
        return;
      }
      const loginResult = this.tryLogin(conn);
      if (loginResult !== null) {
        this.current = this.makeStatus(loginResult.state, loginResult.detail, ident);
        return;
      }
      const low = info.flags & graphene.TokenFlag.USER_PIN_COUNT_LOW ? ' (warning: PIN retry count low)' : '';
      this.current = this.makeStatus('ready', `${ident.manufacturer} ${ident.model}, serial ${ident.serialNumber}, logged in${low}`, ident);
      this.lastUse = Date.now();
    } catch (e) {
      this.disconnect();
      lease.release();
      this.current = this.makeStatus('error', `cannot open token "${this.opts.label}": ${pkcs11Name(e)}`);
    }
  }

  /** Logs in; null on success, otherwise the state to report. CKR_USER_ALREADY_LOGGED_IN counts as success. */
  private tryLogin(c: Connection): { state: TokenState; detail: string } | null {
    try {
      c.session.login(this.pin, graphene.UserType.USER);
      return null;
    } catch (e) {
      const code = pkcs11Code(e);
      if (code === CKR.USER_ALREADY_LOGGED_IN) return this.checkPinWhileLoggedIn(c);
      if (code === CKR.PIN_INCORRECT || code === CKR.PIN_INVALID || code === CKR.PIN_LEN_RANGE || code === CKR.PIN_EXPIRED) {
        this.refusedPin = this.pin;
        return { state: 'locked', detail: `login refused: ${pkcs11Name(e)}` };
      }
      if (code === CKR.PIN_LOCKED) {
        this.refusedPin = this.pin;
        return { state: 'pin-blocked', detail: 'the user PIN is blocked; unblock it with the SO PIN' };
      }
      return { state: 'error', detail: `login failed: ${pkcs11Name(e)}` };
    }
  }

  /**
   * Another session of this process is logged in, so C_Login accepted the PIN unseen; C_SetPIN(pin, pin)
   * checks it. Tokens that refuse C_SetPIN for other reasons (read-only, policy) are given the benefit of the doubt.
   */
  private checkPinWhileLoggedIn(c: Connection): { state: TokenState; detail: string } | null {
    try {
      c.session.setPin(this.pin, this.pin);
      return null;
    } catch (e) {
      const code = pkcs11Code(e);
      if (code === CKR.PIN_INCORRECT || code === CKR.PIN_INVALID || code === CKR.PIN_LEN_RANGE) {
        this.refusedPin = this.pin;
        return { state: 'locked', detail: `login refused: ${pkcs11Name(e)}` };
      }
      return null;
    }
  }

  private login(c: Connection): void {
    const r = this.tryLogin(c);
    if (r) {
      this.current = this.makeStatus(r.state, r.detail, this.current);
      throw new TokenError(stateToCode(r.state), r.detail);
    }
  }

  private disconnect(): void {
    const c = this.conn;
    this.conn = null;
    this.certCache = null;
    if (!c) return;
    try {
      c.session.close();
    } catch {
      // the session may already be gone with the device
    }
    c.lease.release();
  }

  private findSlot(module: graphene.Module): graphene.Slot | null {
    const slots = module.getSlots(true);
    const matches = (s: graphene.Slot): boolean => {
      try {
        const t = s.getToken();
        return (t.flags & graphene.TokenFlag.TOKEN_INITIALIZED) !== 0 && t.label.trim() === this.opts.label;
      } catch {
        return false;
      }
    };
    if (this.opts.slot !== undefined) {
      if (this.opts.slot >= slots.length) return null;
      const s = slots.items(this.opts.slot);
      return matches(s) ? s : null;
    }
    for (let i = 0; i < slots.length; i++) {
      const s = slots.items(i);
      if (matches(s)) return s;
    }
    return null;
  }

  /**
   * The private key `label` as graphene's typed object, with its modulus size, kept for the connection:
   * `toType()` and the modulus each cost a C_GetAttributeValue, and every message signs and decrypts.
   */
  private keyOnToken(c: Connection, label: string): { key: graphene.PrivateKey; modulusBytes: number } {
    const known = c.privateKeys.get(label);
    if (known) return known;
    const key = this.findObject(c, graphene.ObjectClass.PRIVATE_KEY, label).toType<graphene.PrivateKey>();
    const modulus = key.getAttribute({ modulus: null }).modulus as Buffer | undefined;
    const entry = { key, modulusBytes: modulus ? Math.ceil(bitLength(modulus) / 8) : 512 };
    c.privateKeys.set(label, entry);
    return entry;
  }

  private findObject(c: Connection, cls: graphene.ObjectClass, label: string): graphene.SessionObject {
    const cacheKey = `${cls}:${label}`;
    const cached = c.objects.get(cacheKey);
    if (cached) return cached;
    const found = findAll(c.session, { class: cls, label });
    const first = found[0];
    if (!first) {
      throw new TokenError('KEY_NOT_FOUND', `no ${cls === graphene.ObjectClass.PRIVATE_KEY ? 'private key' : 'object'} labelled "${label}" on token "${this.opts.label}"`);
    }
    c.objects.set(cacheKey, first);
    return first;
  }

  private publicKeyOf(c: Connection, label: string): KeyObject {
    const pub = findAll(c.session, { class: graphene.ObjectClass.PUBLIC_KEY, label })[0];
    // Cards often keep no public-key object; the private key's CKA_MODULUS is readable even when sensitive.
    const src = pub ?? this.findObject(c, graphene.ObjectClass.PRIVATE_KEY, label);
    const a = src.getAttribute({ modulus: null, publicExponent: null });
    if (!a.modulus || !a.publicExponent) throw new TokenError('UNSUPPORTED', `key "${label}" is not an RSA key`);
    return rsaPublicKey(a.modulus as Buffer, a.publicExponent as Buffer);
  }

  private readCertificates(c: Connection): Array<{ label: string; id: Buffer; der: Buffer }> {
    if (this.certCache) return this.certCache;
    const list: Array<{ label: string; id: Buffer; der: Buffer }> = [];
    for (const obj of findAll(c.session, { class: graphene.ObjectClass.CERTIFICATE })) {
      const a = obj.getAttribute({ label: null, id: null, value: null });
      if (!a.value) continue;
      list.push({ label: String(a.label ?? ''), id: (a.id as Buffer | undefined) ?? Buffer.alloc(0), der: a.value as Buffer });
    }
    this.certCache = list;
    return list;
  }

  private makeStatus(
    state: TokenState,
    detail: string,
    ident: { manufacturer: string | null; model: string | null; serialNumber: string | null } = { manufacturer: null, model: null, serialNumber: null },
  ): TokenStatus {
    return {
      state,
      detail,
      label: this.opts.label,
      module: this.opts.module,
      manufacturer: ident.manufacturer,
      model: ident.model,
      serialNumber: ident.serialNumber,
      checkedAt: new Date().toISOString(),
    };
  }
}

function stateToCode(state: TokenState): 'TOKEN_ABSENT' | 'TOKEN_LOCKED' | 'PIN_BLOCKED' | 'TOKEN_ERROR' {
  switch (state) {
    case 'absent':
      return 'TOKEN_ABSENT';
    case 'locked':
      return 'TOKEN_LOCKED';
    case 'pin-blocked':
      return 'PIN_BLOCKED';
    default:
      return 'TOKEN_ERROR';
  }
}

function wrap(e: unknown): Error {
  if (e instanceof TokenError) return e;
  const code = pkcs11Code(e);
  if (code !== null) return new TokenError('TOKEN_ERROR', `PKCS#11 error ${pkcs11Name(e)}`);
  return e instanceof Error ? e : new Error(String(e));
}

function findAll(session: graphene.Session, template: graphene.ITemplate): graphene.SessionObject[] {
  const col = session.find(template);
  const out: graphene.SessionObject[] = [];
  for (let i = 0; i < col.length; i++) out.push(col.items(i));
  return out;
}

/**
 * C_SignInit + C_Sign (in libuv's pool) on the connection's open session with the kept key handle.
 * Straight to pkcs11js rather than through graphene's Sign object: that builds a Mechanism from its name
 * and a 1 kB buffer for every signature, work the gateway did for every answer for nothing.
 * (SoftHSM2 itself rebuilds an OpenSSL key, with RSA blinding, inside every C_SignInit; a hardware token
 * keeps its key inside. That part is the token's, and is what is left of signing on the main thread.)
 */
function signOnce(c: Connection, mechanism: string, key: graphene.PrivateKey, data: Buffer, modulusBytes: number): Promise<Buffer> {
  const lib = c.session.lib;
  lib.C_SignInit(c.session.handle, { mechanism: graphene.MechanismEnum[mechanism as keyof typeof graphene.MechanismEnum] }, key.handle);
  return callback<Buffer>((cb) => lib.C_Sign(c.session.handle, data, Buffer.alloc(Math.max(modulusBytes, 512)), cb));
}

function callback<T>(start: (cb: (error: Error | null, value: T | null) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((error, value) => {
      if (error) reject(error);
      else if (value === null || value === undefined) reject(new TokenError('TOKEN_ERROR', 'PKCS#11 call returned nothing'));
      else resolve(value);
    });
  });
}

function bitLength(modulus: Buffer): number {
  let i = 0;
  while (i < modulus.length && modulus[i] === 0) i++;
  const first = modulus[i];
  if (first === undefined) return 0;
  return (modulus.length - i - 1) * 8 + (32 - Math.clz32(first));
}

export function derToPem(der: Uint8Array, type = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

function describeTokenCertificate(label: string, id: Buffer, der: Buffer, now: Date): TokenCertificateInfo {
  return { kind: 'certificate', label, id: id.toString('hex'), ...describeCertificate(new X509Certificate(der), now) };
}
