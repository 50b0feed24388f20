import { useState } from 'preact/hooks';
import type { CertificateInfo, CsrResult, TokenState } from '../../../appliance/api/wire.js';
import type { ExpiryLevel } from '../../../appliance/api/expiry.js';
import { api } from '../api.js';
import { useApp } from '../app.js';
import { Badge, Card, checked, downloadText, ErrorLine, Field, StateSelect, inputValue, Page, Status, useAction, useData, type Tone } from '../components.js';
import { dateOnly } from '../format.js';
import { stateName, t, type MessageKey } from '../i18n/index.js';

type Listed = CertificateInfo & { daysLeft: number; expiry: ExpiryLevel };

const EXPIRY_TONE: Record<ExpiryLevel, Tone> = { ok: 'ok', notice: 'info', warning: 'warn', critical: 'bad', expired: 'bad' };

function Expiry({ c }: { c: Listed }) {
  const label = c.expiry === 'expired' ? t('cert.expired') : t('cert.daysLeft', { n: c.daysLeft });
  const note = c.expiry === 'ok' || c.expiry === 'expired' ? null : t(`cert.expiry.${c.expiry}` as MessageKey);
  return (
    <span data-expiry={c.expiry}>
      <Badge tone={EXPIRY_TONE[c.expiry]}>{label}</Badge> {note && <small class="muted">{note}</small>}
    </span>
  );
}

function TokenCard({ token }: { token: TokenState }) {
  const flag = (v: boolean, bad = false) => <Badge tone={v ? (bad ? 'bad' : 'ok') : bad ? 'ok' : 'bad'}>{v ? t('common.yes') : t('common.no')}</Badge>;
  return (
    <Card title={t('cert.token')}>
      <dl class="facts" data-token-present={String(token.present)}>
        <dt>{t('cert.token.present')}</dt>
        <dd>{flag(token.present)}</dd>
        <dt>{t('cert.token.initialized')}</dt>
        <dd>{flag(token.initialized)}</dd>
        <dt>{t('cert.token.loggedIn')}</dt>
        <dd>{flag(token.loggedIn)}</dd>
        <dt>{t('cert.token.pinLocked')}</dt>
        <dd>{flag(token.pinLocked, true)}</dd>
        <dt>{t('cert.token.label')}</dt>
        <dd>{token.label ?? '—'}</dd>
        <dt>{t('cert.token.model')}</dt>
        <dd>{[token.manufacturer, token.model].filter(Boolean).join(' ') || '—'}</dd>
        <dt>{t('cert.token.serial')}</dt>
        <dd>{token.serial ?? '—'}</dd>
      </dl>
      <p class="muted">{token.detail}</p>
    </Card>
  );
}

function readFileInto(set: (s: string) => void) {
  return (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) void file.text().then(set);
  };
}

function CsrForm({ country, onDone }: { country: string; onDone: () => void }) {
  const [usage, setUsage] = useState<'signing' | 'audit'>('signing');
  const [cn, setCn] = useState('');
  const [org, setOrg] = useState('');
  const [c, setC] = useState(country);
  const [newKey, setNewKey] = useState(false);
  const [csr, setCsr] = useState<CsrResult | null>(null);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() => api<{ csr: CsrResult }>('POST', '/certificates/csr', { body: { usage, commonName: cn, organization: org, country: c, newKey } }));
    if (r) {
      setCsr(r.csr);
      onDone();
    }
  };
  return (
    <Card title={t('cert.csr.title')} class="csr-form">
      <form onSubmit={submit} class="form-grid">
        <Field label={t('cert.csr.usage')}>
          <select name="usage" value={usage} onChange={(e) => setUsage(inputValue(e) as typeof usage)}>
            {(['signing', 'audit'] as const).map((u) => (
              <option key={u} value={u}>
                {t(`cert.usage.${u}`)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('cert.csr.cn')}>
          <input name="commonName" value={cn} onInput={(e) => setCn(inputValue(e))} required maxLength={64} />
        </Field>
        <Field label={t('cert.csr.o')}>
          <input name="organization" value={org} onInput={(e) => setOrg(inputValue(e))} required maxLength={64} />
        </Field>
        <Field label={t('cert.csr.country')}>
          <input name="country" value={c} onInput={(e) => setC(inputValue(e).toUpperCase())} required pattern="[A-Z]{2}" maxLength={2} />
        </Field>
        <label class="check">
          <input type="checkbox" name="newKey" checked={newKey} onChange={(e) => setNewKey(checked(e))} /> {t('cert.csr.newKey')}
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          {t('cert.csr.submit')}
        </button>
      </form>
      <ErrorLine error={action.error} />
      {csr && (
        <div class="csr-result">
          <p>{t('cert.csr.result')}</p>
          <p class="muted">
            {csr.subject} · {csr.keyLabel}
          </p>
          <textarea readOnly rows={8} class="pem" name="csr-pem" value={csr.pem} />
          <button onClick={() => downloadText(`${csr.keyLabel}.csr`, csr.pem, 'application/pkcs10')}>{t('common.download')}</button>
        </div>
      )}
    </Card>
  );
}

function ImportForm({ peer, onDone }: { peer: boolean; onDone: () => void }) {
  const [pem, setPem] = useState('');
  const [state, setState] = useState('DE');
  const [usage, setUsage] = useState<'signing' | 'encryption'>('signing');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(
      () =>
        peer
          ? api<{ certificate: CertificateInfo }>('POST', '/certificates/peer', { body: { state, usage, pem } })
          : api<{ certificate: CertificateInfo }>('POST', '/certificates/import', { body: { pem } }),
      (v) => t('cert.imported', { subject: v.certificate.subject }),
    );
    if (r) {
      setPem('');
      onDone();
    }
  };
  return (
    <Card title={t(peer ? 'cert.peer.title' : 'cert.import.title')}>
      <form onSubmit={submit}>
        {peer && (
          <div class="row">
            <Field label={t('cert.peer.state')}>
              <StateSelect name="state" value={state} onChange={setState} />
            </Field>
            <Field label={t('cert.peer.usage')}>
              <select name="peer-usage" value={usage} onChange={(e) => setUsage(inputValue(e) as typeof usage)}>
                <option value="signing">{t('cert.usage.signing')}</option>
                <option value="encryption">{t('cert.usage.encryption')}</option>
              </select>
            </Field>
          </div>
        )}
        <Field label={t('cert.import.pem')}>
          <textarea name="pem" rows={5} class="pem" value={pem} onInput={(e) => setPem(inputValue(e))} placeholder="-----BEGIN CERTIFICATE-----" required />
        </Field>
        <Field label={t('cert.import.file')}>
          <input type="file" accept=".pem,.crt,.cer" onChange={readFileInto(setPem)} />
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>
          {t(peer ? 'cert.peer.submit' : 'cert.import.submit')}
        </button>
      </form>
      <Status action={action} />
    </Card>
  );
}

export function Certificates() {
  const { can } = useApp();
  const { data, error, reload } = useData(() => api<{ token: TokenState; certificates: Listed[] }>('GET', '/certificates'), []);
  const own = data?.certificates.find((c) => c.owner === 'own');
  return (
    <Page title="cert.title" help={t('cert.help')}>
      <ErrorLine error={error} />
      {data && (
        <>
          <TokenCard token={data.token} />
          <Card title={t('cert.list')}>
            {data.certificates.length === 0 ? (
              <p class="muted">{t('cert.none')}</p>
            ) : (
              <table class="grid certs">
                <thead>
                  <tr>
                    <th>{t('cert.col.owner')}</th>
                    <th>{t('cert.col.usage')}</th>
                    <th>{t('cert.col.subject')}</th>
                    <th>{t('cert.col.notAfter')}</th>
                    <th>{t('cert.col.expires')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.certificates.map((c) => (
                    <tr key={c.id} data-cert={c.id} class={`expiry-${c.expiry}`}>
                      <td>
                        {c.owner === 'own' ? t('cert.own') : `${c.state ?? ''} ${c.state ? stateName(c.state) : ''}`} {c.development && <Badge tone="info">{t('cert.dev')}</Badge>}
                      </td>
                      <td>
                        {t(`cert.usage.${c.usage}` as MessageKey)} {c.keyOnToken && <small class="muted">· {t('cert.onToken')}</small>}
                      </td>
                      <td class="wrap" title={`${c.issuer}\nSHA-256 ${c.fingerprintSha256}`}>
                        {c.subject}
                      </td>
                      <td>{dateOnly(c.notAfter)}</td>
                      <td>
                        <Expiry c={c} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </>
      )}
      {can('certificates.write') && (
        <div class="two">
          <CsrForm country={own?.subject.match(/C=([A-Z]{2})/)?.[1] ?? ''} onDone={() => void reload()} />
          <div>
            <ImportForm peer={false} onDone={() => void reload()} />
            <ImportForm peer onDone={() => void reload()} />
          </div>
        </div>
      )}
    </Page>
  );
}
