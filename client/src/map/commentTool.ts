// "Comment": a button on the map after which the next click on the picture starts a
// thread there (the side panel opens the form); pressed again, it is put down.
import L from 'leaflet';

import { h } from '../ui/dom';
import { latLngToPixel } from '../view';

/** Adds the button; `open` gets the image pixel clicked. Returns the cleanup. */
export function commentTool(map: L.Map, top: number, open: (point: { x: number; y: number }) => void): () => void {
  const button = h('button', { type: 'button', 'aria-pressed': 'false', title: 'Comment on a point of the picture' }, 'Comment');
  const click = (e: L.LeafletMouseEvent) => {
    button.setAttribute('aria-pressed', 'false');
    open(latLngToPixel(e.latlng, top));
  };
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    if (on) map.once('click', click);
    else map.off('click', click);
  });
  const bar = h('div', { class: 'hugepic-tools leaflet-bar' }, button);
  const Control = L.Control.extend({
    onAdd: () => {
      L.DomEvent.disableClickPropagation(bar);
      return bar;
    },
  });
  const control = new Control({ position: 'topright' }).addTo(map);
  return () => {
    map.off('click', click);
    control.remove();
  };
}
