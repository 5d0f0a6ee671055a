export { generateLogs, fileName, parseStart, GENERATE_DEFAULTS } from './generate.js';
export type { GenerateOptions, GenerateSummary, GeneratedFile } from './generate.js';
export { LineSource, makeLines, emptyTally, DEFAULT_KEY_POOL } from './line-source.js';
export type { LineMix, LineTally } from './line-source.js';
export { makeLine, writeLine, kindHasKey, kindIsLoaded, LINE_KINDS, REJECT_KINDS, APP_ID_LIMIT } from './line.js';
export type { LineKind, RejectKind } from './line.js';
export { Rng } from './rng.js';
export { formatCoord } from './format.js';
