/**
 * Why a line was rejected (SPEC.md "A line"). Checked in this order; the first that applies wins.
 * `too_large` is not a line check: memcached refused the value as too large for an item.
 */
export const REJECT_REASONS = ['too_long', 'fields', 'empty', 'type', 'key', 'geo', 'too_large'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type RejectCounts = Record<RejectReason, number>;

export function emptyRejectCounts(): RejectCounts {
  return { too_long: 0, fields: 0, empty: 0, type: 0, key: 0, geo: 0, too_large: 0 };
}
