/**
 * Whether a node lost what it acknowledged of a run (issue #18, items 3 and 5), told once for
 * both modes. A node that acknowledged writes of the run and then
 *   - restarted (memcached/restart-rule.ts: a new pid, or a start that moved later), or
 *   - cannot be read (refusing, frozen, gone): a lost server counts as restarted until shown otherwise,
 * has lost the run's files from the first one it held. The transports differ only in how they
 * read a node (`ReadIdentity`) and where they keep its first write:
 *
 *   single host   RestartGuard (pipeline/restart-undo.ts) keeps the first write in memory and reads
 *                 through EvictionWatch, which compares each reading with the run's previous one
 *   cluster       the first apply that wrote to a node leaves its identity in the plan (Redis);
 *                 the applies and the commit read the node again (queue/restart-watch.ts)
 *
 * Both hand what they read to `nodeState` / `lossOf`, and the files it costs to contract/commit.ts.
 */
import { restarted, type Identity, type Restart } from '../memcached/restart-rule.js';

/** The node's identity now, or null when it cannot be read (refused, timed out, not memcached). */
export type ReadIdentity = (lane: string) => Promise<Identity | null>;

/** What a reading says about a node that holds writes of the run. */
export type NodeState =
  | { readonly kind: 'fine' }
  | { readonly kind: 'restarted'; readonly restart: Restart }
  | { readonly kind: 'lost'; readonly why: string };

export const FINE: NodeState = Object.freeze({ kind: 'fine' });

/** A node's first acknowledged write of the run: the first file it holds, and the node then. */
export interface FirstWrite {
  /** The file's place in the run (plan). */
  readonly index: number;
  /** How messages name it. */
  readonly file: string;
  /**
   * When the node acknowledged it, on the clock its readings use: a restart that started well
   * before it lost nothing of the run (a watch round's server restarted between rounds).
   */
  readonly ackAt: number | null;
}

/** A node lost: files of the run from `from` on fail, for `text`. */
export interface Loss {
  readonly lane: string;
  readonly from: number;
  readonly text: string;
}

/**
 * A restart whose new process started this long before the node's first acknowledgement of the
 * run lost nothing of it. memcached's uptime runs ~2-3 s ahead of its real start and has 1 s
 * steps, so the margin is wide: a restart near the first write counts as after it.
 */
export const BEFORE_FIRST_ACK_MARGIN_MS = 5000;

/** The node read now against its identity at the run's first write to it (the cluster keeps that one). */
export function nodeState(before: Identity, now: Identity | null, unreadWhy = 'its stats cannot be read'): NodeState {
  if (now === null) return { kind: 'lost', why: unreadWhy };
  const r = restarted(before, now, undefined);
  return r === null ? FINE : { kind: 'restarted', restart: r };
}

/** Whether `state` costs the run its files from `first` on: a restart from before the first ack does not. */
export function losesFrom(first: FirstWrite | undefined, state: NodeState): number | null {
  if (first === undefined || state.kind === 'fine') return null;
  if (state.kind === 'restarted' && first.ackAt !== null && state.restart.startedAt + BEFORE_FIRST_ACK_MARGIN_MS < first.ackAt) return null;
  return first.index;
}

/** The Loss `state` makes, with the transport's wording (`text`), or null when the node lost nothing of the run. */
export function lossOf(lane: string, first: FirstWrite | undefined, state: NodeState, text: (state: Exclude<NodeState, { kind: 'fine' }>, first: FirstWrite) => string): Loss | null {
  const from = losesFrom(first, state);
  if (from === null || state.kind === 'fine') return null;
  return { lane, from, text: text(state, first as FirstWrite) };
}

/** Reads every node the run wrote to (in parallel) through the transport's port, against its identity at the first write. */
export async function readNodes(firsts: ReadonlyMap<string, Identity>, read: ReadIdentity): Promise<Map<string, NodeState>> {
  const out = new Map<string, NodeState>();
  await Promise.all([...firsts].map(async ([lane, before]) => out.set(lane, nodeState(before, await read(lane).catch(() => null)))));
  return out;
}
