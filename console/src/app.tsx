import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { ROLE_FENCES, type Permission, type Role } from '../../appliance/accounts/roles.js';
import { isLanguage, type Language } from '../../appliance/accounts/language.js';
import type { SessionInfo } from '../../appliance/api/wire.js';
import { api, onSignedOut, setCsrfToken } from './api.js';
import { language, setLanguage, t, type MessageKey } from './i18n/index.js';
import { Dashboard } from './pages/dashboard.js';
import { Certificates } from './pages/certificates.js';
import { Health } from './pages/health.js';
import { Audit } from './pages/audit.js';
import { Officers } from './pages/officers.js';
import { DnaHits } from './pages/dna-hits.js';
import { Operations } from './pages/operations.js';
import { Accounts } from './pages/accounts.js';
import { SignIn } from './pages/signin.js';
import { VehicleSearch } from './pages/vehicle-search.js';
import { Setup } from './pages/setup.js';

export interface AppContext {
  readonly session: SessionInfo;
  readonly can: (p: Permission) => boolean;
  readonly setSession: (s: SessionInfo) => void;
  readonly navigate: (path: string) => void;
}

export const Ctx = createContext<AppContext>(null as unknown as AppContext);
export const useApp = () => useContext(Ctx);

const LANGUAGE_KEY = 'pruem.language';

function initialLanguage(): Language {
  const stored = localStorage.getItem(LANGUAGE_KEY);
  if (isLanguage(stored)) return stored;
  return navigator.language.toLowerCase().startsWith('ro') ? 'ro' : 'en';
}

interface NavItem {
  readonly path: string;
  readonly label: MessageKey;
  readonly allowed: (can: (p: Permission) => boolean) => boolean;
  /** Shown to a fenced role (the officer) too; every other page is not (accounts/roles.ts ROLE_FENCES). */
  readonly fenced?: true;
}

const NAV: readonly NavItem[] = [
  { path: '/dashboard', label: 'nav.dashboard', allowed: (can) => can('status.read') },
  { path: '/certificates', label: 'nav.certificates', allowed: (can) => can('certificates.read') },
  { path: '/health', label: 'nav.health', allowed: (can) => can('health.read') },
  { path: '/audit', label: 'nav.audit', allowed: (can) => can('audit.read') },
  { path: '/dna-hits', label: 'nav.dnaHits', allowed: (can) => can('dna.validate') },
  { path: '/officers', label: 'nav.officers', allowed: (can) => can('officers.read') || can('statistics.read') },
  { path: '/operations', label: 'nav.operations', allowed: (can) => can('config.read') },
  { path: '/accounts', label: 'nav.accounts', allowed: () => true },
  { path: '/vehicle-search', label: 'nav.vehicleSearch', allowed: (can) => can('vrd.search'), fenced: true },
];

/** The pages a signed-in user may open, in the navigation's order; the first is where they land. */
function navFor(role: Role, permissions: readonly Permission[]): NavItem[] {
  const fenced = ROLE_FENCES[role] !== undefined;
  return NAV.filter((n) => n.allowed((p) => permissions.includes(p)) && (!fenced || n.fenced));
}

function pageFor(path: string) {
  switch (path) {
    case '/certificates':
      return <Certificates />;
    case '/health':
      return <Health />;
    case '/audit':
      return <Audit />;
    case '/officers':
      return <Officers />;
    case '/dna-hits':
      return <DnaHits />;
    case '/operations':
      return <Operations />;
    case '/accounts':
      return <Accounts />;
    case '/vehicle-search':
      return <VehicleSearch />;
    default:
      return <Dashboard />;
  }
}

export function LanguageSwitch({ onChange }: { onChange: (l: Language) => void }) {
  return (
    <label class="lang">
      <span>{t('common.language')}</span>
      <select name="language" value={language()} onChange={(e) => onChange((e.target as HTMLSelectElement).value as Language)}>
        <option value="en">English</option>
        <option value="ro">Română</option>
      </select>
    </label>
  );
}

export function App() {
  const [session, setSessionState] = useState<SessionInfo | null>(null);
  const [lang, setLang] = useState<Language>(() => {
    const l = initialLanguage();
    setLanguage(l);
    return l;
  });
  const [path, setPath] = useState(location.pathname);
  const [notice, setNotice] = useState<'expired' | null>(null);

  const setSession = (s: SessionInfo) => {
    setCsrfToken(s.csrfToken);
    // Just signed in where this user may not be (an officer on the dashboard's address): to their first page.
    if (s.user && session && !session.user) {
      const mine = navFor(s.user.role, s.permissions);
      if (mine[0] && !mine.some((n) => n.path === location.pathname)) navigate(mine[0].path);
    }
    if (s.user) {
      setLanguage(s.user.language);
      setLang(s.user.language);
      localStorage.setItem(LANGUAGE_KEY, s.user.language);
      setNotice(null);
    }
    setSessionState(s);
  };

  const refreshSession = async (background = false) => {
    const s = await api<SessionInfo>('GET', '/session', { background });
    setSession(s);
    return s;
  };

  useEffect(() => {
    void refreshSession();
    onSignedOut((code) => {
      if (code === 'SESSION_EXPIRED') setNotice('expired');
      void refreshSession(true);
    });
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  // Idle timeout: the server ends the session; the console notices without waiting for a click,
  // so a page left open does not keep showing data to whoever walks by.
  useEffect(() => {
    if (!session?.user) return;
    let last = Date.now();
    const touch = () => {
      last = Date.now();
    };
    const events = ['keydown', 'pointerdown', 'wheel'];
    for (const e of events) addEventListener(e, touch, { passive: true });
    const timer = setInterval(async () => {
      if (Date.now() - last < session.idleMinutes * 60_000) return;
      const s = await api<SessionInfo>('GET', '/session', { background: true }).catch(() => null);
      if (s && !s.user) {
        setNotice('expired');
        setSession(s);
      }
    }, 20_000);
    return () => {
      clearInterval(timer);
      for (const e of events) removeEventListener(e, touch);
    };
  }, [session?.user?.id, session?.idleMinutes]);

  const navigate = (to: string) => {
    if (to !== location.pathname) history.pushState(null, '', to);
    setPath(to);
    scrollTo(0, 0);
  };

  const changeLanguage = (l: Language) => {
    setLanguage(l);
    setLang(l);
    localStorage.setItem(LANGUAGE_KEY, l);
    if (session?.user) void api('PUT', '/me/language', { body: { language: l } }).catch(() => undefined);
  };

  if (!session) return <div class="boot">{t('common.loading')}</div>;

  const can = (p: Permission) => session.permissions.includes(p);
  const ctx: AppContext = { session, can, setSession, navigate };

  if (session.setupNeeded) {
    return (
      <Ctx.Provider value={ctx}>
        <div class="bare" key={lang}>
          <header class="bare-head">
            <strong>{t('app.title')}</strong>
            <LanguageSwitch onChange={changeLanguage} />
          </header>
          <Setup onDone={() => void refreshSession().then(() => navigate('/dashboard'))} />
        </div>
      </Ctx.Provider>
    );
  }

  if (!session.user) {
    return (
      <Ctx.Provider value={ctx}>
        <div class="bare" key={lang}>
          <SignIn expired={notice === 'expired'} onLanguage={changeLanguage} />
        </div>
      </Ctx.Provider>
    );
  }

  const items = navFor(session.user.role, session.permissions);
  // A page of the console this user may not open is refused, not silently replaced (the API refuses its data anyway).
  const refused = !items.some((n) => n.path === path) && NAV.some((n) => n.path === path);
  const current = items.find((n) => n.path === path) ?? items[0];
  const signOut = async () => {
    await api('DELETE', '/session').catch(() => undefined);
    await refreshSession();
    navigate('/dashboard');
  };

  return (
    <Ctx.Provider value={ctx}>
      <div class="shell" key={lang}>
        <nav class="side">
          <div class="brand">
            <strong>{t('app.title')}</strong>
            <small>{t('app.subtitle')}</small>
          </div>
          <ul>
            {items.map((n) => (
              <li key={n.path}>
                <a
                  href={n.path}
                  class={n === current && !refused ? 'active' : ''}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(n.path);
                  }}
                >
                  {t(n.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="main">
          <header class="top">
            <span class="who">{t('common.signedInAs', { name: session.user.displayName, role: t(`role.${session.user.role}`) })}</span>
            <LanguageSwitch onChange={changeLanguage} />
            <button class="link" onClick={() => void signOut()}>
              {t('common.signOut')}
            </button>
          </header>
          <main>
            {refused ? (
              <section class="page" data-refused={path}>
                <header class="page-head">
                  <h1>{t(NAV.find((n) => n.path === path)?.label ?? 'app.title')}</h1>
                </header>
                <p class="error" role="alert">
                  {t('common.forbiddenPage')}
                </p>
                <button class="primary" onClick={() => navigate(items[0]?.path ?? '/dashboard')}>
                  {t('common.toMyPage')}
                </button>
              </section>
            ) : (
              pageFor(current?.path ?? '/dashboard')
            )}
          </main>
        </div>
      </div>
    </Ctx.Provider>
  );
}
