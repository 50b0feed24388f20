import type { Channel, MemberStateCode } from '../peers/member-states.js';
import type { MessageQueue } from '../queue/queue.js';
import type { LinkTracker } from '../exchange/links.js';
import type { GatewayStatus, LinkState, ServiceStatus } from './types.js';

/** Last known state of a service the gateway depends on, updated by whoever checks it. */
export class ServiceBoard {
  private readonly services = new Map<ServiceStatus['name'], ServiceStatus>();

  set(name: ServiceStatus['name'], state: LinkState, detail: string, at: Date = new Date()): void {
    this.services.set(name, { name, state, detail, lastChecked: at.toISOString() });
  }

  list(): ServiceStatus[] {
    return [...this.services.values()];
  }
}

export interface StatusSources {
  readonly memberState: MemberStateCode;
  readonly version: string;
  readonly startedAt: Date;
  readonly demo: boolean;
  readonly queue: MessageQueue;
  readonly links: LinkTracker;
  readonly services: ServiceBoard;
  /** Every (peer, channel) the directory knows, enabled or not. */
  readonly peerChannels: () => ReadonlyArray<{ state: MemberStateCode; channel: Channel; enabled: boolean }>;
  readonly clock?: () => Date;
}

export function gatewayStatus(s: StatusSources): GatewayStatus {
  const now = (s.clock ?? (() => new Date()))();
  return {
    memberState: s.memberState,
    version: s.version,
    startedAt: s.startedAt.toISOString(),
    now: now.toISOString(),
    demo: s.demo,
    services: s.services.list(),
    peers: s.links.statuses(s.peerChannels()),
    queues: s.queue.depths(),
    deadLetters: s.queue.deadLetters(10),
    throughput: s.queue.throughput(),
  };
}
