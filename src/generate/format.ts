/**
 * Text shapes of the real tracker logs, which were written by Python 2: a float is `str(x)`,
 * i.e. `%.12g` plus ".0" when that leaves no decimal point (`67.7835424444`, `-104.68583244`,
 * `180.0`, `1.5e-05`). Matching that makes the generated lat/lon exercise the same parser paths
 * (12 significant digits, trailing zeros dropped) as production data.
 */

export function formatCoord(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  // %g switches to exponent form below 1e-4; JS toPrecision only below 1e-6.
  if (abs < 1e-4) return formatExponent(x);
  let s = x.toPrecision(12);
  if (s.includes('e')) return formatExponent(x);
  if (s.includes('.')) {
    let end = s.length;
    while (s.charCodeAt(end - 1) === 48) end--;
    s = s.slice(0, end);
    if (s.endsWith('.')) s += '0';
  } else {
    s += '.0';
  }
  return s;
}

function formatExponent(x: number): string {
  const [mantissa, exp] = x.toExponential(11).split('e');
  let m = mantissa;
  if (m.includes('.')) {
    let end = m.length;
    while (m.charCodeAt(end - 1) === 48) end--;
    m = m.slice(0, end);
    if (m.endsWith('.')) m = m.slice(0, -1);
  }
  const sign = exp.startsWith('-') ? '-' : '+';
  const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
  return `${m}e${sign}${digits}`;
}

/** ASCII codes of lowercase hex digits, for writing ids without building strings. */
export const HEX_BYTES: Uint8Array = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
