import { useState } from 'preact/hooks';
import { ROLES, type Role } from '../../../appliance/accounts/roles.js';
import type { AccountView } from '../../../appliance/api/wire.js';
import { api } from '../api.js';
import { useApp } from '../app.js';
import { Badge, Card, Confirm, Field, inputValue, Page, Status, useAction, useData } from '../components.js';
import { dateTime } from '../format.js';
import { t, type MessageKey } from '../i18n/index.js';

export function MyPassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => api('PUT', '/me/password', { body: { current, next } }), () => t('acc.changed'))) {
      setCurrent('');
      setNext('');
    }
  };
  return (
    <Card title={t('acc.me')}>
      <form class="form-grid" onSubmit={submit}>
        <Field label={t('acc.current')}>
          <input type="password" name="current-password" autoComplete="current-password" value={current} onInput={(e) => setCurrent(inputValue(e))} required />
        </Field>
        <Field label={t('acc.new')}>
          <input type="password" name="new-password" autoComplete="new-password" minLength={12} value={next} onInput={(e) => setNext(inputValue(e))} required />
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>
          {t('acc.changePassword')}
        </button>
      </form>
      <Status action={action} />
    </Card>
  );
}

function CreateAccount({ onDone }: { onDone: () => void }) {
  const [f, setF] = useState({ username: '', displayName: '', role: 'operator' as Role, password: '' });
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => api('POST', '/accounts', { body: f }), () => t('common.saved'))) {
      setF({ username: '', displayName: '', role: 'operator', password: '' });
      onDone();
    }
  };
  const bind = (k: 'username' | 'displayName' | 'password') => ({ name: `new-${k}`, value: f[k], onInput: (e: Event) => { const v = inputValue(e); setF((o) => ({ ...o, [k]: v })); } });
  return (
    <Card title={t('acc.create')}>
      <form class="form-grid" onSubmit={submit}>
        <Field label={t('acc.col.username')}>
          <input {...bind('username')} required pattern="[A-Za-z0-9._\-]{3,32}" autoComplete="off" />
        </Field>
        <Field label={t('acc.col.name')}>
          <input {...bind('displayName')} required maxLength={80} />
        </Field>
        <Field label={t('acc.col.role')}>
          <select name="new-role" value={f.role} onChange={(e) => { const v = inputValue(e) as Role; setF((o) => ({ ...o, role: v })); }}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}` as MessageKey)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('acc.password')}>
          <input type="password" {...bind('password')} minLength={12} required autoComplete="new-password" />
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>
          {t('acc.create')}
        </button>
      </form>
      <Status action={action} />
    </Card>
  );
}

export function Accounts() {
  const { can, session } = useApp();
  const list = useData(() => (can('accounts.manage') ? api<{ accounts: AccountView[] }>('GET', '/accounts') : Promise.resolve({ accounts: [] })), []);
  const action = useAction();
  const [deleting, setDeleting] = useState<AccountView | null>(null);
  const [resetting, setResetting] = useState<AccountView | null>(null);
  const [newPassword, setNewPassword] = useState('');
  const act = async (work: () => Promise<unknown>) => {
    await action.run(work, () => t('common.saved'));
    void list.reload();
  };
  return (
    <Page title="acc.title" help={t('acc.help')}>
      {can('accounts.manage') && list.data && (
        <Card>
          <table class="grid accounts">
            <thead>
              <tr>
                <th>{t('acc.col.username')}</th>
                <th>{t('acc.col.name')}</th>
                <th>{t('acc.col.role')}</th>
                <th>{t('acc.col.status')}</th>
                <th>{t('acc.col.lastLogin')}</th>
                <th>{t('common.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.accounts.map((a) => (
                <tr key={a.id} data-account={a.username}>
                  <td>{a.username}</td>
                  <td>{a.displayName}</td>
                  <td>
                    <select name={`role-${a.username}`} value={a.role} disabled={a.id === session.user?.id} onChange={(e) => void act(() => api('PATCH', `/accounts/${a.id}`, { body: { role: inputValue(e) } }))}>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {t(`role.${r}` as MessageKey)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>{a.disabled ? <Badge tone="idle">{t('acc.disabled')}</Badge> : a.locked ? <Badge tone="bad">{t('acc.locked')}</Badge> : <Badge tone="ok">{t('acc.active')}</Badge>}</td>
                  <td>{dateTime(a.lastLoginAt)}</td>
                  <td class="actions">
                    {a.locked && <button onClick={() => void act(() => api('POST', `/accounts/${a.id}/unlock`))}>{t('acc.unlock')}</button>}
                    {a.id !== session.user?.id && (
                      <>
                        <button onClick={() => void act(() => api('PATCH', `/accounts/${a.id}`, { body: { disabled: !a.disabled } }))}>{a.disabled ? t('acc.enable') : t('acc.disable')}</button>
                        <button onClick={() => setResetting(a)}>{t('acc.reset')}</button>
                        <button class="danger" onClick={() => setDeleting(a)}>
                          {t('acc.delete')}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {resetting && (
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                const target = resetting;
                setResetting(null);
                void act(() => api('POST', `/accounts/${target.id}/password`, { body: { password: newPassword } })).then(() => setNewPassword(''));
              }}
            >
              <Field label={t('acc.newPasswordFor', { name: resetting.username })}>
                <input type="password" name="reset-password" minLength={12} value={newPassword} onInput={(e) => setNewPassword(inputValue(e))} required autoComplete="new-password" />
              </Field>
              <button type="submit" class="primary">
                {t('common.save')}
              </button>
              <button type="button" onClick={() => setResetting(null)}>
                {t('common.cancel')}
              </button>
            </form>
          )}
          <Status action={action} />
        </Card>
      )}
      {can('accounts.manage') && <CreateAccount onDone={() => void list.reload()} />}
      <MyPassword />
      {deleting && (
        <Confirm
          text={t('acc.deleteConfirm', { name: deleting.username })}
          onConfirm={() => {
            const target = deleting;
            setDeleting(null);
            void act(() => api('DELETE', `/accounts/${target.id}`));
          }}
          onCancel={() => setDeleting(null)}
        />
      )}
    </Page>
  );
}
