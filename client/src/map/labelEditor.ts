// The inline editor for text labels: an input placed on the map where the label goes
// (it moves with the map while open). Enter or leaving the field saves, Escape cancels.
import L from 'leaflet';

/** Longest label kept, in characters. */
export const LABEL_MAX = 500;

export interface LabelEditor {
  /** Closes the editor without saving. */
  cancel(): void;
}

/** Opens the editor at `at` with `initial` text; `save` gets the trimmed new text
 *  (never empty, never unchanged); `closed` runs once however it ends. */
export function editLabel(
  map: L.Map,
  at: L.LatLng,
  options: { initial?: string; color: string; save: (text: string) => void; closed?: () => void },
): LabelEditor {
  const input = document.createElement('input');
  input.type = 'text';
  input.maxLength = LABEL_MAX;
  input.value = options.initial ?? '';
  input.placeholder = 'Label';
  input.setAttribute('aria-label', 'Label text');
  input.style.color = options.color;
  const marker = L.marker(at, {
    icon: L.divIcon({ className: 'hugepic-label-editor', html: '', iconSize: undefined }),
    interactive: false,
    keyboard: false,
    pmIgnore: true,
  } as L.MarkerOptions).addTo(map);
  const element = marker.getElement();
  element?.append(input);
  if (element) L.DomEvent.disableClickPropagation(element);

  let open = true;
  const close = (keep: boolean) => {
    if (!open) return;
    open = false;
    const text = input.value.trim().slice(0, LABEL_MAX);
    marker.remove();
    if (keep && text && text !== (options.initial ?? '').trim()) options.save(text);
    options.closed?.();
    map.getContainer().focus({ preventScroll: true });
  };
  input.addEventListener('keydown', (e) => {
    // Keys typed here are text, not map or tool shortcuts.
    e.stopPropagation();
    if (e.key === 'Enter') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close(false);
    }
  });
  input.addEventListener('blur', () => close(true));
  // Focus after the click that opened the editor has finished moving focus around.
  requestAnimationFrame(() => {
    if (open) input.focus({ preventScroll: true });
  });
  return { cancel: () => close(false) };
}
