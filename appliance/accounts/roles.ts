/**
 * Roles and what each may do. Pure data shared by the API (which enforces it) and the console
 * (which only hides what the API would refuse anyway).
 *
 * Separation of duties (issue 6): the auditor reads and exports the Art. 30 log but changes no
 * configuration; the technician configures the box but never reads, exports or alters the log
 * (it holds officers' identifiers and references, i.e. personal data); the operator runs
 * searches and watches the dashboard. Nobody can alter the log: it is append-only below us.
 * The officer (issue 11) searches other States' vehicle registers from the console and does nothing
 * else: no dashboard, no configuration, no log — the EUCARIS web client's end user.
 */
export const ROLES = ['technician', 'operator', 'auditor', 'officer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export const PERMISSIONS = [
  'status.read',
  'health.read',
  'certificates.read',
  'certificates.write',
  'config.read',
  'config.write',
  'accounts.manage',
  'officers.read',
  'officers.write',
  'statistics.read',
  'audit.read',
  'audit.export',
  'operations.diagnostics',
  'operations.restart',
  'search.run',
  'dna.validate',
  'vrd.search',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const MATRIX: Readonly<Record<Role, readonly Permission[]>> = {
  technician: [
    'status.read',
    'health.read',
    'certificates.read',
    'certificates.write',
    'config.read',
    'config.write',
    'accounts.manage',
    'officers.read',
    'officers.write',
    'statistics.read',
    'operations.diagnostics',
    'operations.restart',
  ],
  // Operators include the NCP's DNA staff, who validate hits before anything follows from them (issue 15).
  operator: ['status.read', 'health.read', 'certificates.read', 'search.run', 'dna.validate'],
  // The auditor sees configuration history (who changed what) and the officers list, which the
  // supervisory authority may ask for (Art. 30(2)(a)), but can change neither.
  auditor: ['status.read', 'certificates.read', 'config.read', 'officers.read', 'statistics.read', 'audit.read', 'audit.export'],
  // Vehicle searches abroad from the console (issue 11 item 5), and nothing else: the API fences the
  // role to its search routes and its own account (api/server.ts, OFFICER_ROUTES).
  officer: ['vrd.search'],
};

export function can(role: Role, permission: Permission): boolean {
  return MATRIX[role].includes(permission);
}

export function permissionsOf(role: Role): readonly Permission[] {
  return MATRIX[role];
}

/**
 * Roles confined to a few console API paths (below /api), whatever else a route would let through: the
 * API refuses every other path with FORBIDDEN_ROLE before any route runs (api/server.ts), and the console
 * shows these roles only their pages. An entry ending in "/" is a prefix. Sign-in/out and the user's own
 * language and password stay open to everyone.
 */
export const ROLE_FENCES: Readonly<Partial<Record<Role, readonly string[]>>> = {
  officer: ['/session', '/me/language', '/me/password', '/vrd/'],
};

/** Whether `role` may reach `path` (below /api, e.g. "/vrd/searches") at all; true for roles without a fence. */
export function insideFence(role: Role, path: string): boolean {
  const fence = ROLE_FENCES[role];
  if (!fence) return true;
  return fence.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
}
