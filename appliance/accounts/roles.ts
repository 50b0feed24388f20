/**
 * Roles and what each may do. Pure data shared by the API (which enforces it) and the console
 * (which only hides what the API would refuse anyway).
 *
 * Separation of duties (issue 6): the auditor reads and exports the Art. 30 log but changes no
 * configuration; the technician configures the box but never reads, exports or alters the log
 * (it holds officers' identifiers and references, i.e. personal data); the operator runs
 * searches and watches the dashboard. Nobody can alter the log: it is append-only below us.
 */
export const ROLES = ['technician', 'operator', 'auditor'] as const;
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
};

export function can(role: Role, permission: Permission): boolean {
  return MATRIX[role].includes(permission);
}

export function permissionsOf(role: Role): readonly Permission[] {
  return MATRIX[role];
}
