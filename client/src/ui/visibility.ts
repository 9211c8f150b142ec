// "Show annotations", all or per author: one set of switches for the shapes
// (../map/shapeLayers) and the comment bubbles (../map/bubbleLayer), which follow the
// same state (ShapeLayers keeps it, by author name). The list names everyone who drew a
// shape or started a thread.
import type { BubbleLayer } from '../map/bubbleLayer';
import type { ShapeLayers } from '../map/shapeLayers';
import { h } from './dom';

export function visibilityControls(layers: ShapeLayers, bubbles: BubbleLayer): HTMLElement {
  const all = h('input', { type: 'checkbox', checked: true, 'aria-label': 'Show annotations' });
  all.addEventListener('change', () => layers.setVisible(all.checked));
  const authors = h('ul', { class: 'authors', 'aria-label': 'Annotations by author' });
  const render = () => {
    const drew = new Set(layers.authorNames());
    const commented = new Set(bubbles.authorNames());
    const names = [...new Set([...drew, ...commented])].sort();
    authors.replaceChildren(
      ...names.map((name) => {
        const what = [drew.has(name) ? 'shapes' : '', commented.has(name) ? 'comments' : ''].filter(Boolean).join(' and ');
        const box = h('input', { type: 'checkbox', 'aria-label': `Show ${what} by ${name || 'someone'}` });
        box.checked = layers.authorVisible(name);
        box.addEventListener('change', () => layers.setAuthorVisible(name, box.checked));
        return h('li', {}, h('label', {}, box, ` ${name || 'someone'}`));
      }),
    );
  };
  layers.onAuthors = render;
  bubbles.onAuthors = render;
  render();
  return h('section', { class: 'visibility' }, h('label', { class: 'show-all' }, all, ' Show annotations'), authors);
}
