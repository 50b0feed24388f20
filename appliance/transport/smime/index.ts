/**
 * S/MIME for the mail channels (Annex ch.1 §5): encrypt-then-sign out, verify-then-decrypt in.
 * One module per structure, in PKI.js's manner: MimeEntity, ContentInfo, EnvelopedData, SignedData.
 */
export { sealMessage, SIGNED_DATA_CONTENT_TYPE, type SealInput, type SealedMessage } from './seal.js';
export { openMessage, signingTimeOf, type OpenOptions, type OpenResult, type OpenedMessage, type OpenFailure } from './open.js';
export { SmimeError, type OpenErrorCode, type SealErrorCode } from './errors.js';
export type { KeyTransport } from './EnvelopedData.js';
