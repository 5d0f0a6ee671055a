/**
 * What --log-level debug adds: connection events (connecting, reconnect attempts with their
 * backoff, disconnects with what was in flight, giving up) and one line per acknowledged batch.
 * The protocol layer has no logger (STYLE.md), so these come from its diagnostics channels and
 * from the loader's observer events, and are subscribed to only at debug: a normal run pays nothing.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { BatchSettled } from '../memcached/router.js';
import type { Logger } from '../report/logger.js';
import type { LoadObserver } from '../report/observer.js';

interface ConnectingEvent { readonly server: string; readonly attempts: number; readonly localPort: number | null }
interface ConnectEvent { readonly server: string; readonly attempts: number }
interface DisconnectEvent { readonly server: string; readonly error: Error; readonly inFlight: number; readonly pending: number }
interface BackoffEvent { readonly server: string; readonly delayMs: number; readonly attempts: number; readonly retries: number }
interface GoneEvent { readonly server: string; readonly error: Error }

export interface DebugEvents {
  readonly observer: LoadObserver;
  close(): void;
}

export function debugEvents(logger: Logger): DebugEvents {
  const debug = (message: string, server: string) => logger.log('debug', message, { server });
  const handlers: Record<string, (m: unknown) => void> = {
    'memc-load:connection:connecting': (m) => {
      const e = m as ConnectingEvent;
      const from = e.localPort === null ? '' : `, from local port ${e.localPort}`;
      debug(e.attempts === 0 ? `Connecting to ${e.server}` : `Reconnecting to ${e.server} (attempt ${e.attempts}${from})`, e.server);
    },
    'memc-load:connection:connect': (m) => {
      const e = m as ConnectEvent;
      debug(`Connected to ${e.server}${e.attempts === 0 ? '' : ` after ${e.attempts} reconnect attempt(s)`}`, e.server);
    },
    'memc-load:connection:disconnect': (m) => {
      const e = m as DisconnectEvent;
      debug(`Disconnected from ${e.server} with ${e.inFlight} batch(es) in flight and ${e.pending} pending: ${e.error.message}`, e.server);
    },
    'memc-load:connection:backoff': (m) => {
      const e = m as BackoffEvent;
      debug(`Reconnect attempt ${e.attempts} of ${e.retries} to ${e.server} in ${e.delayMs} ms`, e.server);
    },
    'memc-load:connection:gone': (m) => {
      const e = m as GoneEvent;
      debug(`Connection to ${e.server} given up: ${e.error.message}`, e.server);
    },
  };
  for (const [name, fn] of Object.entries(handlers)) subscribe(name, fn);

  // A batch's tag is its file's index in the run (watch rounds restart at 0, and so does this map).
  const files = new Map<number, string>();
  const observer: LoadObserver = {
    fileStarted: (path, index) => void files.set(index, path),
    batchSettled: (s: BatchSettled) => {
      const file = files.get(s.tag) ?? `file #${s.tag + 1}`;
      if (s.delivered) {
        debug(
          `Batch of ${file} acknowledged by ${s.server}: records=${s.records} loaded=${s.loaded} failed=${s.failed} ` +
            `too_large=${s.tooLarge} in ${((s.latencySeconds ?? 0) * 1000).toFixed(1)} ms`,
          s.server,
        );
      } else debug(`Batch of ${file} to ${s.server} not delivered (${s.records} records): ${s.error?.message ?? 'unknown'}`, s.server);
    },
  };
  return {
    observer,
    close: () => {
      for (const [name, fn] of Object.entries(handlers)) unsubscribe(name, fn);
    },
  };
}
