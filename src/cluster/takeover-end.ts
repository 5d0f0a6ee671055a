/**
 * How an apply that met the takeover fence ends (docs/protocol.md "The takeover fence"), on
 * either side of it:
 * - the old holder, its lease lost: the socket it reset while cut off may still be listed on the
 *   node, and the new holder waits for it to go, so it keeps trying to release it;
 * - the new holder, its fence never passed: the error says which connection, whose, and what
 *   the operator can do, instead of a generic "gave up on memcached".
 */
import type { ServerAddress } from '../config/servers.js';
import { ERROR_CODES, FenceError, type MemcLoadError } from '../errors.js';
import { listedAt, releaseAbandoned } from '../memcached/conn-socket.js';
import type { ConnIdentity } from '../memcached/handshake.js';

/** How long a worker that lost its lease keeps trying to release its reset socket (a partition that long heals into a fence failure). */
const RELEASE_FOR_MS = 10 * 60_000;

/** The old holder's side: releases `mine` (the socket as the node listed it; null: never told) in the background. */
export function releaseLost(address: ServerAddress, mine: ConnIdentity | null): void {
  const at = mine === null ? null : listedAt(mine.addr);
  if (at !== null) void releaseAbandoned(address, at, performance.now() + RELEASE_FOR_MS);
}

/** The new holder's side: `err` told plainly when it is the fence on `earlier` holders that never passed. */
export function takeoverError(err: MemcLoadError | null, earlier: readonly (ConnIdentity | null)[], file: string, server: string): MemcLoadError | null {
  if (err === null || earlier.length === 0) return err;
  const cause = (err.cause as { code?: string; message?: string } | undefined) ?? err;
  if (cause.code !== ERROR_CODES.FENCE) return err;
  return new FenceError(
    `${file}: not applied to ${server}: ${cause.message ?? ''}. The file fails and stays pending; the re-plan (enqueue again) loads it once that connection is gone ` +
      '(stop or resume the worker that holds it, or close it on the memcached host: ss -K); see docs/cluster.md "Leases and takeovers"',
    { file, server, cause: err },
  );
}
