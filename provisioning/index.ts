/**
 * First-boot and certificate life-cycle library, shared by the `pruem` CLI, the console's first-run
 * wizard (through the API) and the serial console.
 */
export {
  ProvisioningError,
  type ProvisioningErrorCode,
  type CertificateInfo,
  DEVELOPMENT_MARK,
  DEVELOPMENT_ORGANIZATION,
  certificateInfo,
  parseCertificate,
  countryOf,
  createDevelopmentCertificate,
  generateCsr,
  importCertificate,
  importPeerCertificate,
  writeFileAtomic,
} from './certificates.js';
export {
  type DevelopmentTokenResult,
  ensureDevelopmentToken,
  provisionDevelopmentKeys,
  setupDevelopmentToken,
  tokenOptionsFromConfig,
  developmentSofthsmConf,
  certsDir,
  isSoftHsmModule,
} from './development-token.js';
