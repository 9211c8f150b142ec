// The history in words: who did what and when ("Ana added 2 shapes, changed 5,
// 1 comment · 14 Mar 10:42"), what a restore will change, what happened to one shape,
// and the dates the timeline shows. Pure: times are ms, dates are local time.
import type { ActivityEntry, Counts, ShapeChange } from './api';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const two = (n: number) => String(n).padStart(2, '0');

/** "14 March 10:42" (with the year when it is not this year's). */
export function longDate(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const year = d.getFullYear() === new Date(now).getFullYear() ? '' : ` ${d.getFullYear()}`;
  return `${d.getDate()} ${MONTHS[d.getMonth()]}${year} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "14 Mar 10:42" (with the year when it is not this year's). */
export function shortDate(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const year = d.getFullYear() === new Date(now).getFullYear() ? '' : ` ${d.getFullYear()}`;
  return `${d.getDate()} ${MONTHS[d.getMonth()].slice(0, 3)}${year} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "added 2 shapes, changed 5, deleted 1, 1 comment": the noun once, on the first count.
 *  `verbs` are those of the shapes' counts, and the comments' when given. */
export function countsText(counts: Counts, verbs: [string, string, string, string?] = ['added', 'changed', 'deleted']): string {
  const parts: string[] = [];
  const shapes: [number, string][] = [
    [counts.shapes_added, verbs[0]],
    [counts.shapes_changed, verbs[1]],
    [counts.shapes_deleted, verbs[2]],
  ];
  for (const [n, verb] of shapes) {
    if (n > 0) parts.push(parts.length ? `${verb} ${n}` : `${verb} ${plural(n, 'shape')}`);
  }
  if (counts.comments > 0) parts.push(verbs[3] ? `${verbs[3]} ${plural(counts.comments, 'comment')}` : plural(counts.comments, 'comment'));
  return parts.join(', ');
}

/** One entry of the activity as a sentence, without its date. `timeOfSeq` gives the
 *  time of a seq when it is known (for "restored 14 Mar 09:10"). */
export function entrySentence(entry: ActivityEntry, timeOfSeq: (seq: number) => number | null = () => null, now = Date.now()): string {
  const who = entry.author.name || 'someone';
  const what = countsText(entry.counts);
  if (entry.restore) {
    const at = timeOfSeq(entry.restore.to_seq);
    const moment = at === null ? `change ${entry.restore.to_seq}` : shortDate(at, now);
    return `${who} restored the moment ${moment}${what ? `: ${what}` : ''}`;
  }
  if (!what) return `${who} made changes`;
  // Comments alone: "Ana commented (2 comments)" rather than "Ana 2 comments".
  return countsText({ ...entry.counts, comments: 0 }) ? `${who} ${what}` : `${who} commented (${what})`;
}

/** The entry as the activity list shows it: "Ana added 2 shapes · 14 Mar 10:42". */
export function entryLine(entry: ActivityEntry, timeOfSeq?: (seq: number) => number | null, now = Date.now()): string {
  const at = Date.parse(entry.to);
  const sentence = entrySentence(entry, timeOfSeq, now);
  return Number.isFinite(at) ? `${sentence} · ${shortDate(at, now)}` : sentence;
}

/** What a restore will do, from its dry run. */
export function restoreText(counts: Counts, shapeIds: readonly string[]): string {
  const what = countsText(counts, ['add', 'change', 'delete', 'change']);
  if (!what) return 'Nothing would change: the annotations are already like this.';
  const shapes = shapeIds.length ? ` (${plural(shapeIds.length, 'shape')} in all)` : '';
  return `This will ${what}${shapes}. It is added to the history as one change, which can itself be undone by restoring.`;
}

const FIELD_NAMES: Record<string, string> = { geometry: 'shape', style: 'style', text: 'text', author: 'author', author_id: 'author', type: 'kind' };

/** One version of a shape: "Ana reshaped and restyled it" style, plainly. */
export function changeSentence(change: ShapeChange): string {
  const who = change.author.name || 'someone';
  switch (change.kind) {
    case 'created':
      return `${who} drew it`;
    case 'deleted':
      return `${who} deleted it`;
    default: {
      const fields = [...new Set(change.fields.map((f) => FIELD_NAMES[f] ?? f))];
      if (!fields.length) return `${who} changed it`;
      const last = fields.pop();
      return `${who} changed its ${fields.length ? `${fields.join(', ')} and ${last}` : last}`;
    }
  }
}
