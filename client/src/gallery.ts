// `/`: the gallery of public ready pictures, newest first, paginated; above it, the
// pictures this browser holds links for (unlisted ones appear only there).
import { getPicture, listPictures, tokens } from './api';
import type { Picture } from './api';
import { ago, h, megapixels } from './ui/dom';

const PER_PAGE = 24;
/** Most of this browser's own pictures shown. */
const OWN_SHOWN = 24;

function card(p: Picture): HTMLElement {
  return h(
    'li',
    {},
    h(
      'a',
      { href: `/p/${p.id}`, class: 'card' },
      p.status === 'ready' ? h('img', { src: p.thumbnail, alt: p.title, loading: 'lazy' }) : h('span', { class: 'thumbnail-pending' }, p.status === 'failed' ? 'Failed' : 'Being prepared…'),
      h('span', { class: 'title' }, p.title || 'Untitled'),
      h('span', { class: 'meta' }, megapixels(p.width, p.height)),
      h('span', { class: 'meta' }, `${ago(p.created_at)}${p.visibility === 'unlisted' ? ' · unlisted' : ''}`),
    ),
  );
}

/** The pictures this browser holds links for, newest first (those it can still open). */
async function ownPictures(): Promise<Picture[]> {
  const found = await Promise.all(
    tokens.ids().map(async (id) => {
      try {
        return await getPicture(id, tokens.best(id));
      } catch {
        return null; // deleted, or its link was replaced
      }
    }),
  );
  return found
    .filter((p): p is Picture => p !== null)
    .sort((a, b) => b.created_at.localeCompare(a.created_at))
    .slice(0, OWN_SHOWN);
}

export async function galleryPage(root: HTMLElement): Promise<void> {
  const page = Math.max(1, Number(new URLSearchParams(location.search).get('page') ?? '1') || 1);
  root.replaceChildren(h('p', { class: 'muted' }, 'Loading pictures…'));
  const [{ pictures, total }, own] = await Promise.all([listPictures(page, PER_PAGE), page === 1 ? ownPictures() : Promise.resolve([])]);
  const yours = own.length
    ? h('section', { class: 'yours', 'data-test': 'your-pictures' }, h('h2', {}, 'Your pictures'), h('p', { class: 'muted' }, 'Pictures this browser has links for. Unlisted ones open only with their links.'), h('ul', { class: 'gallery' }, ...own.map(card)))
    : null;
  if (pictures.length === 0) {
    root.replaceChildren(
      ...(yours ? [yours] : []),
      h(
        'section',
        { class: 'empty' },
        h('h1', {}, yours ? 'No public pictures yet' : 'No pictures yet'),
        h('p', {}, 'Upload a picture of any size: it becomes a map you can zoom into, share and annotate.'),
        h('a', { class: 'primary button', href: '/upload' }, 'Upload a picture'),
      ),
    );
    return;
  }
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  const grid = h('ul', { class: 'gallery' }, ...pictures.map(card));
  const nav = h(
    'nav',
    { class: 'pages', 'aria-label': 'Pages' },
    page > 1 ? h('a', { href: `/?page=${page - 1}`, rel: 'prev' }, '← Newer') : null,
    h('span', {}, `Page ${page} of ${pages}`),
    page < pages ? h('a', { href: `/?page=${page + 1}`, rel: 'next' }, 'Older →') : null,
  );
  root.replaceChildren(...(yours ? [yours] : []), h('h1', {}, 'Public pictures'), grid, nav);
}
