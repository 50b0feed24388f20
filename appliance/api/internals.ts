import type { AccountService } from '../accounts/service.js';
import type { SessionStore } from '../accounts/store.js';
import type { RevisionStore } from '../config/revisions.js';
import type { ApiDeps } from './deps.js';
import type { ApiRouter, RouteKit } from './routing.js';
import type { SessionManager } from './session.js';
import type { HealthMonitor } from '../health/sample.js';

/** What the built-in route modules share (not exported to the daemon's extra routes). */
export interface ApiInternals {
  readonly deps: ApiDeps;
  readonly accounts: AccountService;
  readonly sessionStore: SessionStore;
  readonly sessions: SessionManager;
  readonly revisions: RevisionStore;
  readonly health: HealthMonitor;
  readonly idleMinutes: number;
  readonly setupCode: { current: string | null };
}

export type InternalRouteModule = (router: ApiRouter, kit: RouteKit, internals: ApiInternals) => void;
