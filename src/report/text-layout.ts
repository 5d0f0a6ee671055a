/**
 * The two ways the terminal summaries lay text out: aligned columns, and items wrapped to a width.
 * Kept apart from what the tables hold so the run summary and the per-node table line up alike.
 */

/** Head, rule and body rows, columns two spaces apart; numeric columns right-aligned. */
export function alignColumns(head: readonly string[], body: readonly (readonly string[])[], numeric: (column: number) => boolean): {
  readonly head: string;
  readonly rule: string;
  readonly rows: string[];
} {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const fmt = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return { head: fmt(head), rule: widths.map((w) => '-'.repeat(w)).join('  '), rows: body.map(fmt) };
}

/** The widest line of a rendered text, in characters. */
export function widest(text: string): number {
  return Math.max(...text.split('\n').map((l) => l.length));
}

/**
 * Greedy wrap of items two spaces apart. An item too long for a line is wrapped on its own at its
 * spaces (one space apart), and a word too long for any line is cut.
 */
export function wrap(items: readonly string[], columns: number, indent: string): string[] {
  const room = columns - indent.length;
  const fit = (w: string) => (w.length <= room ? w : `${w.slice(0, room - 1)}…`);
  const pieces = items.flatMap((item) => {
    if (item.length <= room) return [{ text: item, sep: '  ' }];
    return item.split(' ').map((w, i) => ({ text: fit(w), sep: i === 0 ? '  ' : ' ' }));
  });
  const lines: string[] = [];
  let line = '';
  for (const { text, sep } of pieces) {
    if (line !== '' && line.length + sep.length + text.length <= room) line += sep + text;
    else {
      if (line !== '') lines.push(indent + line);
      line = text;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}
