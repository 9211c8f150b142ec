// Small DOM helpers.

/** An element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/** Copies `text`, falling back to selecting it when the clipboard is not available. */
export async function copy(text: string, input?: HTMLInputElement | HTMLTextAreaElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input?.select();
    return document.execCommand?.('copy') ?? false;
  }
}

/** A read-only field with a copy button. */
export function copyField(label: string, value: string, multiline = false): HTMLElement {
  const field = multiline
    ? h('textarea', { readonly: true, rows: '3', 'aria-label': label })
    : h('input', { readonly: true, type: 'text', 'aria-label': label });
  field.value = value;
  const done = h('span', { class: 'copied', 'aria-live': 'polite' });
  return h(
    'label',
    { class: 'copy-field' },
    h('span', { class: 'label' }, label),
    field,
    h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          done.textContent = (await copy(field.value, field)) ? 'Copied' : 'Select and copy';
          setTimeout(() => (done.textContent = ''), 2000);
        },
      },
      'Copy',
    ),
    done,
  );
}

/** "3 minutes ago", for created times. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  const units: [number, string][] = [
    [86400 * 365, 'year'],
    [86400 * 30, 'month'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n > 1 ? 's' : ''} ago`;
  }
  return 'just now';
}

export function megapixels(width: number | null, height: number | null): string {
  if (!width || !height) return '';
  const mp = (width * height) / 1e6;
  const size = `${width.toLocaleString('en')} × ${height.toLocaleString('en')} px`;
  return mp >= 1000 ? `${size} · ${(mp / 1000).toFixed(1)} gigapixels` : `${size} · ${mp.toFixed(1)} megapixels`;
}
