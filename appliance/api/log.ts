import type { ApiLog } from './errors.js';

/** The part of the daemon's logger (pino) the HTTP interfaces use. */
export interface LevelLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * The console API's and the officers' API's events on the daemon's logger: a failure (500, a lost
 * audit record) as an error, a first-run code or a refused credential as a warning, the rest as info.
 */
export function apiLogTo(logger: LevelLogger): ApiLog {
  return (event, fields) => {
    const level = /internal|failed/.test(event) ? 'error' : /setup\.code|refused|denied/.test(event) ? 'warn' : 'info';
    logger[level]({ event, ...fields }, event);
  };
}
