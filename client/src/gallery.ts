// `/`: the gallery of ready pictures, newest first, paginated.
import { listPictures } from './api';
import { ago, h, megapixels } from './ui/dom';

const PER_PAGE = 24;

export async function galleryPage(root: HTMLElement): Promise<void> {
  const page = Math.max(1, Number(new URLSearchParams(location.search).get('page') ?? '1') || 1);
  root.replaceChildren(h('p', { class: 'muted' }, 'Loading pictures…'));
  const { pictures, total } = await listPictures(page, PER_PAGE);
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  if (pictures.length === 0) {
    root.replaceChildren(
      h(
        'section',
        { class: 'empty' },
        h('h1', {}, 'No pictures yet'),
        h('p', {}, 'Upload a picture of any size: it becomes a map you can zoom into, share and annotate.'),
        h('a', { class: 'primary button', href: '/upload' }, 'Upload a picture'),
      ),
    );
    return;
  }
  const grid = h(
    'ul',
    { class: 'gallery' },
    ...pictures.map((p) =>
      h(
        'li',
        {},
        h(
          'a',
          { href: `/p/${p.id}`, class: 'card' },
          h('img', { src: p.thumbnail, alt: p.title, loading: 'lazy' }),
          h('span', { class: 'title' }, p.title || 'Untitled'),
          h('span', { class: 'meta' }, megapixels(p.width, p.height)),
          h('span', { class: 'meta' }, ago(p.created_at)),
        ),
      ),
    ),
  );
  const nav = h(
    'nav',
    { class: 'pages', 'aria-label': 'Pages' },
    page > 1 ? h('a', { href: `/?page=${page - 1}`, rel: 'prev' }, '← Newer') : null,
    h('span', {}, `Page ${page} of ${pages}`),
    page < pages ? h('a', { href: `/?page=${page + 1}`, rel: 'next' }, 'Older →') : null,
  );
  root.replaceChildren(h('h1', {}, 'Pictures'), grid, nav);
}
