// The HUGEpic client: one page, routed by path.
import './style.css';

import { galleryPage } from './gallery';
import { picturePage } from './picture';
import { uploadPage } from './upload';

const root = document.getElementById('app') as HTMLElement;
const path = location.pathname;
const embed = path.match(/^\/embed\/([A-Za-z0-9_-]+)\/?$/);
const viewer = path.match(/^\/p\/([A-Za-z0-9_-]+)\/?$/);

document.body.classList.toggle('embed', Boolean(embed));
if (embed) document.querySelector('body > header')?.remove();

async function route(): Promise<void> {
  if (embed) return picturePage(root, embed[1], true);
  if (viewer) return picturePage(root, viewer[1], false);
  if (path === '/upload') return uploadPage(root);
  if (path === '/' || path === '') return galleryPage(root);
  root.textContent = 'There is no such page.';
}

route().catch((e: unknown) => {
  root.textContent = e instanceof Error ? e.message : 'Something went wrong.';
});
