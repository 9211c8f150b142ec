// The keyboard shortcuts of the picture page, shown by `?` (and by a button for those
// who do not know to press it): one list, so what the page says is what it does.
import { h } from './dom';

/** A shortcut: keys (as shown) and what they do. */
export type Shortcut = readonly [keys: string, what: string];

/** The viewer's keys; drawing and history add theirs when the link allows. */
export const VIEWER_KEYS: readonly Shortcut[] = [
  ['← ↑ → ↓', 'Pan the picture (the map has focus: click it or Tab to it)'],
  ['+ / −', 'Zoom in / out'],
  ['Tab', 'Move through the controls, shapes and comment bubbles'],
  ['?', 'Show this list'],
];

export const DRAWING_KEYS: readonly Shortcut[] = [
  ['Ctrl+Z', 'Undo your last change'],
  ['Ctrl+Shift+Z or Ctrl+Y', 'Redo'],
  ['Delete', 'Delete the selected shape'],
  ['Escape', 'Put the tool down, clear the selection'],
];

export const HISTORY_KEYS: readonly Shortcut[] = [
  ['← →', 'On the timeline: previous / next change'],
  ['Escape', 'Back to live'],
];

/** Whether a key press belongs to a text field (shortcuts leave those alone). */
export function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) || el.isContentEditable);
}

/** Opens the list on `?`; returns the function that stops listening. */
export function shortcutHelp(groups: readonly (readonly [title: string, keys: readonly Shortcut[]])[]): { open(): void; dispose(): void } {
  let dialog: HTMLDialogElement | null = null;
  const open = () => {
    if (dialog?.open) return;
    dialog = h(
      'dialog',
      { class: 'shortcuts', 'aria-labelledby': 'shortcuts-title' },
      h('h2', { id: 'shortcuts-title' }, 'Keyboard shortcuts'),
      ...groups.map(([title, keys]) =>
        h('section', {}, h('h3', {}, title), h('dl', {}, ...keys.flatMap(([k, what]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, what)]))),
      ),
      h('form', { method: 'dialog' }, h('button', { type: 'submit', autofocus: true }, 'Close')),
    );
    dialog.addEventListener('close', () => dialog?.remove());
    document.body.append(dialog);
    dialog.showModal();
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target)) {
      e.preventDefault();
      open();
    }
  };
  document.addEventListener('keydown', onKey);
  return {
    open,
    dispose: () => document.removeEventListener('keydown', onKey),
  };
}
