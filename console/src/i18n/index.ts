import type { ApiErrorCode } from '../../../appliance/api/errors.js';
import type { MemberStateCode } from '../../../appliance/peers/member-states.js';
import type { Language } from '../../../appliance/accounts/language.js';
import { en, type MessageKey } from './en.js';
import { ro } from './ro.js';

export type { MessageKey };

const messages: Record<Language, Record<MessageKey, string>> = { en, ro };

/** Romanian texts for the API's error codes; English uses the catalogue's own message. */
const roErrors: Partial<Record<ApiErrorCode | 'NETWORK', string>> = {
  BAD_REQUEST: 'Cererea este incorectă.',
  VALIDATION_FAILED: 'Un câmp are o valoare nevalidă.',
  BAD_JSON: 'Conținutul cererii nu este JSON valid.',
  UNSUPPORTED_MEDIA_TYPE: 'Trimiteți conținutul ca application/json.',
  PAYLOAD_TOO_LARGE: 'Conținutul cererii este prea mare.',
  AUTH_REQUIRED: 'Autentificați-vă mai întâi.',
  SESSION_EXPIRED: 'Sesiunea s-a închis după o perioadă de inactivitate. Autentificați-vă din nou.',
  BAD_CREDENTIALS: 'Utilizator sau parolă greșite.',
  ACCOUNT_LOCKED: 'Prea multe autentificări eșuate: contul este blocat temporar.',
  CSRF_REJECTED: 'Cererea nu avea un jeton anti-falsificare valid.',
  FORBIDDEN_ROLE: 'Rolul dumneavoastră nu permite această acțiune.',
  NOT_FOUND: 'Resursa nu există.',
  METHOD_NOT_ALLOWED: 'Metoda nu este permisă aici.',
  USERNAME_INVALID: 'Numele de utilizator are 3–32 de litere, cifre, puncte, cratime sau liniuțe jos.',
  USERNAME_TAKEN: 'Numele de utilizator este deja folosit.',
  DISPLAY_NAME_INVALID: 'Dați un nume de 1–80 de caractere.',
  ROLE_INVALID: 'Rolul trebuie să fie tehnician, operator, auditor sau ofițer.',
  LANGUAGE_INVALID: 'Limba trebuie să fie en sau ro.',
  PASSWORD_TOO_SHORT: 'Parola trebuie să aibă cel puțin 12 caractere.',
  PASSWORD_TOO_LONG: 'Parola trebuie să aibă cel mult 256 de caractere.',
  PASSWORD_CONTAINS_USERNAME: 'Parola nu trebuie să conțină numele de utilizator.',
  ACCOUNT_NOT_FOUND: 'Contul nu există.',
  LAST_TECHNICIAN: 'Trebuie să rămână cel puțin un cont de tehnician activ.',
  SETUP_REQUIRED: 'Echipamentul nu are încă niciun cont: finalizați asistentul de configurare inițială.',
  SETUP_DONE: 'Asistentul de configurare inițială a fost deja finalizat.',
  SETUP_CODE_INVALID: 'Codul de configurare este greșit. Este afișat pe consola echipamentului.',
  SETUP_STEP_INVALID: 'Finalizați mai întâi pașii anteriori ai asistentului.',
  CONFIG_INVALID: 'Configurația nu este validă.',
  CONFIG_UNCHANGED: 'Configurația este deja așa.',
  REVISION_NOT_FOUND: 'Revizia de configurație nu există.',
  CONFIRMATION_REQUIRED: 'Confirmați acțiunea scriind cuvântul cerut.',
  EXPORT_NOT_FOUND: 'Exportul nu există.',
  COMPARISON_REFUSED: 'Comparația nu poate începe: nu există un acord cu acel partener pentru acel tip de profil, sau o rulare este în curs.',
  EXPORT_TARGET_INVALID: 'Alegeți un stick USB montat sau un director de pe echipament.',
  EXPORT_BUSY: 'Un export este deja în curs.',
  PERIOD_INVALID: 'Perioada nu este validă: dați datele de început și de sfârșit, în ordine.',
  CERTIFICATE_INVALID: 'Certificatul nu a putut fi citit (se așteaptă X.509 PEM sau DER).',
  TOKEN_UNAVAILABLE: 'Tokenul nu este disponibil (absent, blocat sau neinițializat).',
  TOKEN_PIN_INVALID: 'Tokenul a refuzat acest PIN.',
  NOT_CONFIGURED: 'Această funcție nu este încă disponibilă pe acest echipament.',
  DEPENDENCY_FAILED: 'O componentă a porții nu a reușit; vedeți detaliile.',
  STATUS_UNAVAILABLE: 'Starea porții nu este disponibilă.',
  EXPORT_ROOT_NOT_ALLOWED: 'Exporturile pot fi scrise doar în dosarele permise de configurație.',
  OFFICER_NOT_AUTHORISED: 'Ofițerul nu figurează pe lista ofițerilor autorizați pentru această căutare.',
  PROFILE_REFUSED: 'Un profil nu poate fi trimis (prea puțini loci sau valori nevalide).',
  ART3_SINGLE_PROFILE: 'O căutare conform art. 3 conține exact un profil.',
  NO_TARGET: 'Niciunul dintre statele cerute nu este partener configurat pentru acest canal.',
  NIST_TRANSACTION_INVALID: 'Fișierul ANSI/NIST nu este o căutare INT-I 4.22 validă; liniile de eroare din anexă arată motivul.',
  CLIENT_CREDENTIAL_REQUIRED: 'Este necesară o cheie validă de client pentru API-ul ofițerilor.',
  CLIENT_NAME_INVALID: 'Numele clientului are 2–48 litere mici, cifre, puncte, cratime sau liniuțe de subliniere.',
  CLIENT_NAME_TAKEN: 'Există deja un client cu acest nume.',
  CLIENT_NOT_FOUND: 'Clientul API-ului ofițerilor nu există.',
  CLIENT_ALREADY_REVOKED: 'Cheia acestui client este deja revocată.',
  HIT_ALREADY_DECIDED: 'Această potrivire a fost deja confirmată sau exclusă.',
  HIT_NOT_CONFIRMED: 'Doar o potrivire confirmată poate sta la baza unei cereri de continuare.',
  INTERNAL: 'Eroare internă.',
  NETWORK: 'Poarta nu răspunde.',
};

const stateNames: Record<Language, Record<MemberStateCode, string>> = {
  en: {
    AT: 'Austria', BE: 'Belgium', BG: 'Bulgaria', CY: 'Cyprus', CZ: 'Czechia', DE: 'Germany', DK: 'Denmark', EE: 'Estonia',
    EL: 'Greece', ES: 'Spain', FI: 'Finland', FR: 'France', HR: 'Croatia', HU: 'Hungary', IE: 'Ireland', IT: 'Italy',
    LT: 'Lithuania', LU: 'Luxembourg', LV: 'Latvia', MT: 'Malta', NL: 'Netherlands', PL: 'Poland', PT: 'Portugal', RO: 'Romania',
    SE: 'Sweden', SI: 'Slovenia', SK: 'Slovakia', UK: 'United Kingdom', NO: 'Norway', IS: 'Iceland', CH: 'Switzerland', LI: 'Liechtenstein',
  },
  ro: {
    AT: 'Austria', BE: 'Belgia', BG: 'Bulgaria', CY: 'Cipru', CZ: 'Cehia', DE: 'Germania', DK: 'Danemarca', EE: 'Estonia',
    EL: 'Grecia', ES: 'Spania', FI: 'Finlanda', FR: 'Franța', HR: 'Croația', HU: 'Ungaria', IE: 'Irlanda', IT: 'Italia',
    LT: 'Lituania', LU: 'Luxemburg', LV: 'Letonia', MT: 'Malta', NL: 'Țările de Jos', PL: 'Polonia', PT: 'Portugalia', RO: 'România',
    SE: 'Suedia', SI: 'Slovenia', SK: 'Slovacia', UK: 'Regatul Unit', NO: 'Norvegia', IS: 'Islanda', CH: 'Elveția', LI: 'Liechtenstein',
  },
};

let current: Language = 'en';

export function setLanguage(language: Language): void {
  current = language;
  document.documentElement.lang = language;
}

export function language(): Language {
  return current;
}

export function locale(): string {
  return current === 'ro' ? 'ro-RO' : 'en-GB';
}

export function t(key: MessageKey, params: Readonly<Record<string, string | number>> = {}): string {
  const text = messages[current][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

export function errorText(code: string, fallback: string): string {
  if (current === 'ro') return roErrors[code as ApiErrorCode] ?? fallback;
  return code === 'NETWORK' ? 'The gateway does not answer.' : fallback;
}

export function stateName(code: string): string {
  return stateNames[current][code as MemberStateCode] ?? code;
}
