/**
 * Placements pylibmc 1.6.3 (libmemcached 1.0.18) made on live servers (scripts/pool-vectors.py
 * writes test/fixtures/pool-vectors.json): the placement unit test and the `where` test read them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Distribution } from '../../src/pool/placement.js';
import { repoRoot } from './paths.js';

export interface VectorCase {
  readonly name: string;
  readonly distribution: 'ketama_weighted' | 'ketama' | 'modula';
  readonly servers: readonly string[];
  readonly keys: readonly string[];
  readonly nodeOf: readonly number[];
}

/** pylibmc's behaviour name → the loader's --distribution value. */
export const DISTRIBUTION: Record<VectorCase['distribution'], Distribution> = {
  ketama_weighted: 'ketama-weighted',
  ketama: 'ketama',
  modula: 'modula',
};

export function poolVectors(): readonly VectorCase[] {
  return (JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/pool-vectors.json'), 'utf8')) as { cases: VectorCase[] }).cases;
}
