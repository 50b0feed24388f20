import { useState } from 'preact/hooks';
import type { Language } from '../../../appliance/accounts/language.js';
import type { SessionInfo } from '../../../appliance/api/wire.js';
import { api, ConsoleApiError } from '../api.js';
import { LanguageSwitch, useApp } from '../app.js';
import { ErrorLine, Field, Help, inputValue } from '../components.js';
import { dateTime } from '../format.js';
import { t } from '../i18n/index.js';

export function SignIn({ expired, onLanguage }: { expired: boolean; onLanguage: (l: Language) => void }) {
  const { session, setSession } = useApp();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api<SessionInfo>('POST', '/session', { body: { username, password } });
      setSession(s);
    } catch (err) {
      setError(err);
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  const lockedUntil = error instanceof ConsoleApiError && error.code === 'ACCOUNT_LOCKED' ? String(error.detail['lockedUntil'] ?? '') : null;

  return (
    <form class="signin card" onSubmit={submit}>
      <div class="signin-head">
        <h1>{t('app.title')}</h1>
        <LanguageSwitch onChange={onLanguage} />
      </div>
      <h2>{t('signin.title')}</h2>
      <Help text={t('signin.help', { n: session.idleMinutes })} />
      {expired && (
        <p class="warn-line" role="status">
          {t('signin.expired')}
        </p>
      )}
      <Field label={t('signin.username')}>
        <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(inputValue(e))} required autoFocus />
      </Field>
      <Field label={t('signin.password')}>
        <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(inputValue(e))} required />
      </Field>
      <ErrorLine error={error} />
      {lockedUntil && <p class="error">{t('signin.lockedUntil', { time: dateTime(lockedUntil) })}</p>}
      <button type="submit" class="primary" disabled={busy}>
        {t('signin.submit')}
      </button>
    </form>
  );
}
