// Part of `make image-test` (test/image/boot.sh), run on the build machine against the booted image's
// console API (a port forwarded to 127.0.0.1): the first-run wizard with the set-up code the serial
// console showed, a technician and an auditor account, then a signed audit export to the USB drive
// attached to the guest — which the unprivileged daemon can only reach through the root helper's
// usb-mount/usb-unmount requests. Prints one JSON line: { ok, drive, export } or { ok: false, step, status, body }.
// Usage: node test/image/export.mjs https://127.0.0.1:PORT SETUP-CODE
const [base, code] = process.argv.slice(2);
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // the image's self-signed console certificate

class Browser {
  cookies = new Map();
  csrf = '';
  async request(method, path, body) {
    const headers = { accept: 'application/json' };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (method !== 'GET' && this.csrf) headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(120_000) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (value) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    if (json && typeof json.csrfToken === 'string') this.csrf = json.csrfToken;
    return { status: res.status, json, text };
  }
}

function stop(step, r) {
  console.log(JSON.stringify({ ok: false, step, status: r.status, body: r.text.slice(0, 600) }));
  process.exit(1);
}

const tech = new Browser();
let r = await tech.request('GET', '/api/session');
if (r.status !== 200) stop('session', r);
r = await tech.request('POST', '/api/setup/unlock', { code });
if (r.status !== 200) stop('setup/unlock', r);
r = await tech.request('PUT', '/api/setup/member-state', { memberState: 'RO' });
if (r.status !== 200) stop('setup/member-state', r);
r = await tech.request('POST', '/api/setup/account', { username: 'tech', displayName: 'Technician', password: 'alpine-meadow-42-image' });
if (r.status !== 201) stop('setup/account', r);
r = await tech.request('POST', '/api/accounts', { username: 'auditor', displayName: 'Auditor', role: 'auditor', password: 'quiet-harbour-57-image' });
if (r.status !== 201) stop('accounts', r);

const auditor = new Browser();
r = await auditor.request('GET', '/api/session');
r = await auditor.request('POST', '/api/session', { username: 'auditor', password: 'quiet-harbour-57-image' });
if (r.status !== 200) stop('sign-in auditor', r);
r = await auditor.request('GET', '/api/audit/usb-drives');
if (r.status !== 200) stop('usb-drives', r);
const drives = r.json?.drives ?? r.json?.usbDrives ?? r.json;
// The drive the test attached (label PRUEM-AUDIT); qemu's machine also has a floppy drive, which is removable too.
const drive = Array.isArray(drives) ? drives.find((d) => d.label === 'PRUEM-AUDIT') : undefined;
if (!drive) stop('usb-drives (none offered)', r);
const to = new Date(Date.now() + 3_600_000).toISOString();
r = await auditor.request('POST', '/api/audit/exports', { target: { kind: 'usb', driveId: drive.id }, from: new Date(Date.now() - 86_400_000).toISOString(), to });
if (r.status !== 202) stop('exports', r);
const id = r.json.export.id;
const deadline = Date.now() + 900_000;
for (;;) {
  r = await auditor.request('GET', `/api/audit/exports/${encodeURIComponent(id)}`);
  if (r.status !== 200) stop('exports/:id', r);
  const job = r.json.export;
  if (job.finishedAt) {
    console.log(JSON.stringify({ ok: !job.error && job.verification?.ok === true, drive, export: job }));
    process.exit(job.error ? 1 : 0);
  }
  if (Date.now() > deadline) stop('export did not finish in 15 min', r);
  await new Promise((resolve) => setTimeout(resolve, 3000));
}
