// Writing from the history (edit and owner links only): "Restore this moment", a
// confirmation dialog that first asks the server what would change (a dry run) and
// only then restores, for the whole picture or only the selected shape; and "Save
// version", an inline form for naming the moment shown.
import { h } from '../ui/dom';
import { restoreText } from './activity';
import type { RestoreResult } from './api';

/** What the restore dialog needs. */
export interface RestoreChoice {
  /** The moment, in words ("14 March 10:42"). */
  moment: string;
  /** The shape selected in the replay, if any. */
  selected: string | null;
  /** Asks the server (dry run or for real); `shapeIds` null is the whole picture. */
  run(shapeIds: string[] | null, dryRun: boolean): Promise<RestoreResult>;
  /** The restore was made. */
  done(result: RestoreResult): void;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Opens the confirmation dialog. */
export function confirmRestore(choice: RestoreChoice): HTMLDialogElement {
  const whole = h('input', { type: 'radio', name: 'restore-scope', value: 'all', checked: true });
  const one = h('input', { type: 'radio', name: 'restore-scope', value: 'shape', disabled: choice.selected === null });
  const summary = h('p', { class: 'history-restore-summary', 'aria-live': 'polite' });
  const confirm = h('button', { type: 'button', class: 'primary', 'data-test': 'history-restore-confirm', disabled: true }, 'Restore');
  const cancel = h('button', { type: 'button' }, 'Cancel');
  const dialog = h(
    'dialog',
    { class: 'history-restore', 'aria-labelledby': 'history-restore-title' },
    h('h2', { id: 'history-restore-title' }, `Restore the annotations of ${choice.moment}?`),
    h(
      'fieldset',
      {},
      h('legend', {}, 'What to restore'),
      h('label', {}, whole, ' The whole picture'),
      h('label', {}, one, choice.selected === null ? ' Only the selected shape (select one on the map first)' : ' Only the selected shape'),
    ),
    summary,
    h('div', { class: 'row' }, cancel, confirm),
  );
  const scope = () => (one.checked && choice.selected !== null ? [choice.selected] : null);
  let asked = 0;
  const check = async () => {
    const ask = ++asked;
    confirm.disabled = true;
    summary.textContent = 'Checking what would change…';
    try {
      const result = await choice.run(scope(), true);
      if (ask !== asked) return;
      summary.textContent = restoreText(result.counts, result.shape_ids);
      confirm.disabled = result.shape_ids.length === 0 && Object.values(result.counts).every((n) => n === 0);
    } catch (e) {
      if (ask === asked) summary.textContent = `Cannot restore: ${message(e)}.`;
    }
  };
  whole.addEventListener('change', check);
  one.addEventListener('change', check);
  cancel.addEventListener('click', () => dialog.close());
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    cancel.disabled = true;
    summary.textContent = 'Restoring…';
    try {
      const result = await choice.run(scope(), false);
      dialog.close();
      choice.done(result);
    } catch (e) {
      summary.textContent = `Not restored: ${message(e)}.`;
      cancel.disabled = false;
    }
  });
  dialog.addEventListener('close', () => dialog.remove());
  // Escape closes this dialog, not the history behind it.
  dialog.addEventListener('keydown', (e) => e.stopPropagation());
  document.body.append(dialog);
  dialog.showModal();
  void check();
  return dialog;
}

/** "Save version": a button that opens an inline form for the version's name. */
export function saveVersionControl(save: (name: string) => Promise<string>): HTMLElement {
  const open = h('button', { type: 'button', 'data-test': 'history-save-version', 'aria-expanded': 'false' }, 'Save version');
  const name = h('input', { type: 'text', name: 'version-name', 'aria-label': 'Version name', placeholder: 'Name of this version', maxlength: '200', required: true, 'data-test': 'history-version-name' });
  const said = h('span', { class: 'muted', 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      class: 'history-version-form',
      hidden: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const chosen = name.value.trim();
        if (!chosen) return;
        try {
          said.textContent = await save(chosen);
          name.value = '';
          toggle(false);
        } catch (error) {
          said.textContent = `Not saved: ${message(error)}.`;
        }
      },
    },
    name,
    h('button', { type: 'submit', 'data-test': 'history-version-submit' }, 'Save'),
    h('button', { type: 'button', onclick: () => toggle(false) }, 'Cancel'),
  );
  name.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    toggle(false);
  });
  const toggle = (on: boolean) => {
    form.hidden = !on;
    open.setAttribute('aria-expanded', String(on));
    if (on) {
      said.textContent = '';
      name.focus();
    } else open.focus();
  };
  open.addEventListener('click', () => toggle(form.hidden === true));
  return h('div', { class: 'history-version' }, open, form, said);
}
