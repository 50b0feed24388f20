import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ConsoleApiError } from './api.js';
import { errorText, stateName, t, type MessageKey } from './i18n/index.js';
import { MEMBER_STATES } from '../../appliance/peers/member-states.js';

export type Tone = 'ok' | 'warn' | 'bad' | 'idle' | 'info';

export function Badge({ tone, children, title }: { tone: Tone; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge ${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Help({ text }: { text: string }) {
  return (
    <aside class="help" aria-label={t('common.help')}>
      <strong>?</strong> {text}
    </aside>
  );
}

export function Page({ title, help, children, actions }: { title: MessageKey; help: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="page">
      <header class="page-head">
        <h1>{t(title)}</h1>
        {actions}
      </header>
      <Help text={help} />
      {children}
    </section>
  );
}

export function Card({ title, children, class: cls }: { title?: string; children: ComponentChildren; class?: string }) {
  return (
    <div class={`card ${cls ?? ''}`}>
      {title && <h2>{title}</h2>}
      {children}
    </div>
  );
}

export function describeError(e: unknown): string {
  if (e instanceof ConsoleApiError) {
    const detail = Object.entries(e.detail)
      .filter(([k]) => k !== 'lockedUntil')
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('; ');
    return `${errorText(e.code, e.message)}${detail ? ` (${detail})` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {describeError(error)}
    </p>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
      {hint && <small>{hint}</small>}
    </label>
  );
}

/** Loads once (and again on reload()); `interval` makes it poll, in the background (no idle reset). */
export function useData<T>(load: (background: boolean) => Promise<T>, deps: readonly unknown[], interval = 0) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [at, setAt] = useState(0);
  const alive = useRef(true);
  const run = useCallback(async (background: boolean) => {
    try {
      const value = await load(background);
      if (!alive.current) return;
      setData(value);
      setError(null);
      setAt(Date.now());
    } catch (e) {
      if (alive.current) setError(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    alive.current = true;
    void run(false);
    let timer: number | undefined;
    if (interval > 0) {
      const tick = async () => {
        if (!document.hidden) await run(true);
        if (alive.current) timer = window.setTimeout(tick, interval);
      };
      timer = window.setTimeout(tick, interval);
    }
    return () => {
      alive.current = false;
      if (timer) clearTimeout(timer);
    };
  }, [run, interval]);
  return { data, error, at, reload: () => run(false), setData };
}

/** A button's action: busy flag, error, and a success message. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const run = async <T,>(work: () => Promise<T>, success?: (value: T) => string | null): Promise<T | null> => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const value = await work();
      setMessage(success ? success(value) : null);
      return value;
    } catch (e) {
      setError(e);
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, message, run, clear: () => (setError(null), setMessage(null)) };
}

export function Status({ action }: { action: { error: unknown; message: string | null } }) {
  return (
    <>
      <ErrorLine error={action.error} />
      {action.message && (
        <p class="ok-line" role="status">
          {action.message}
        </p>
      )}
    </>
  );
}

/** Asks for confirmation; with `word`, the user must type it (restart, reboot). */
export function Confirm({ text, word, onConfirm, onCancel }: { text: string; word?: string; onConfirm: () => void; onCancel: () => void }) {
  const [typed, setTyped] = useState('');
  const ok = !word || typed.trim().toLowerCase() === word;
  return (
    <div class="modal" role="dialog" aria-modal="true">
      <div class="modal-box">
        <p>{text}</p>
        {word && (
          <Field label={t('ops.typeToConfirm', { word })}>
            <input name="confirm-word" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} autoFocus />
          </Field>
        )}
        <div class="row">
          <button class="danger" disabled={!ok} onClick={onConfirm}>
            {t('common.confirm')}
          </button>
          <button onClick={onCancel}>{t('common.cancel')}</button>
        </div>
      </div>
    </div>
  );
}

export function inputValue(e: Event): string {
  return (e.target as HTMLInputElement).value;
}

export function checked(e: Event): boolean {
  return (e.target as HTMLInputElement).checked;
}

/** Offers text as a file download from the browser (no server round trip). */
export function downloadText(name: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A choice of Member State, each shown with its name in the user's language. */
export function StateSelect({ name, value, onChange }: { name: string; value: string; onChange: (value: string) => void }) {
  return (
    <select name={name} value={value} onChange={(e) => onChange(inputValue(e))}>
      {MEMBER_STATES.map((s) => (
        <option key={s} value={s}>
          {s} — {stateName(s)}
        </option>
      ))}
    </select>
  );
}
