// `/upload`: drop, pick or paste a picture (Uppy with tus: progress, pause/resume,
// retries after a dropped network) or give a URL; then live progress of tiling and
// publishing, the owner's share links, and the way into the viewer.
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import Tus from '@uppy/tus';
import '@uppy/core/css/style.min.css';
import '@uppy/dashboard/css/style.min.css';

import { ApiError, friendly, importUrl, newLinks, stageText, tokens, watchProgress } from './api';
import { copyField, h } from './ui/dom';

/** What the tus server says about itself (its size limit). */
async function maxUploadBytes(): Promise<number | null> {
  try {
    const response = await fetch('/api/uploads', { method: 'OPTIONS', headers: { 'Tus-Resumable': '1.0.0' } });
    const max = Number(response.headers.get('Tus-Max-Size'));
    return Number.isFinite(max) && max > 0 ? max : null;
  } catch {
    return null;
  }
}

/** Who each share link is for. */
const SHARES = [
  ['edit', 'Edit link: for people who draw and comment with you'],
  ['comment', 'Comment link: for reviewers, who comment but do not draw'],
  ['view', 'View link: for anyone who should only look (annotations included, live)'],
] as const;

/** The panel that follows one picture from upload to ready. */
function followPicture(panel: HTMLElement, id: string, ownerToken: string, links: Record<string, string> | null): void {
  tokens.set(id, { owner: ownerToken });
  const bar = h('progress', { max: '100', value: '0', 'aria-label': 'Progress' });
  const stage = h('p', { class: 'stage', 'aria-live': 'polite' }, 'Waiting for a worker…');
  const open = h('a', { class: 'primary button disabled', href: `/p/${id}`, 'aria-disabled': 'true', id: 'open-picture' }, 'Open the picture');
  const linksBox = h('div', { class: 'links' }, h('p', { class: 'muted' }, 'Making share links…'));
  // The links come first: the progress needs no attention, the owner link does.
  panel.replaceChildren(h('h2', {}, 'Your picture'), stage, bar, open, linksBox);
  panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
  const showLinks = (all: Record<string, string>) => {
    const owner = `${location.origin}/p/${id}?token=${encodeURIComponent(ownerToken)}`;
    linksBox.replaceChildren(
      h(
        'section',
        { class: 'owner-link', 'aria-labelledby': `owner-link-${id}` },
        h('h3', { id: `owner-link-${id}` }, 'Keep your owner link'),
        h(
          'p',
          {},
          'There are no accounts: this link is what makes you the owner (rename, delete, new share links). ',
          'This browser remembers it, but no other browser will. Copy it somewhere safe, and do not share it.',
        ),
        copyField('Owner link: keep it to yourself', owner),
      ),
      h('h3', {}, 'Share with others'),
      h('p', {}, 'Anyone with a link gets what the link allows, live, without signing up.'),
      ...SHARES.filter(([role]) => all[role]).map(([role, label]) => copyField(label, all[role])),
    );
  };
  if (links) showLinks(links);
  else
    newLinks(id, ownerToken)
      .then((made) => {
        tokens.set(id, made.tokens);
        showLinks(made.links);
      })
      .catch((e: Error) => linksBox.replaceChildren(h('p', { class: 'error' }, `Share links could not be made: ${e.message}`)));
  watchProgress(id, ownerToken, (p) => {
    stage.textContent = stageText(p);
    stage.classList.toggle('error', p.status === 'failed');
    const fraction = p.status === 'ready' ? 1 : p.total > 0 ? p.done / p.total : 0;
    // Tiling is most of the work; publishing the rest.
    const overall = p.status === 'publishing' ? 0.8 + 0.2 * fraction : p.status === 'tiling' ? 0.8 * fraction : fraction;
    bar.value = Math.round(overall * 100);
    if (p.status === 'ready') {
      open.classList.remove('disabled');
      open.removeAttribute('aria-disabled');
      panel.dataset.status = 'ready';
    }
    if (p.status === 'failed') {
      panel.dataset.status = 'failed';
      linksBox.replaceChildren(h('p', {}, 'This picture could not be tiled (the reason is above); try another file.'));
      open.hidden = true;
    }
  });
}

export async function uploadPage(root: HTMLElement): Promise<void> {
  const dropzone = h('div', { id: 'uppy' });
  const urlInput = h('input', { type: 'url', name: 'url', placeholder: 'https://example.org/huge-scan.tif', required: true, 'aria-label': 'Picture URL' });
  const urlError = h('p', { class: 'error', 'aria-live': 'polite' });
  const panel = h('section', { class: 'follow', id: 'follow' });
  const urlForm = h(
    'form',
    {
      class: 'url-form',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        urlError.textContent = '';
        try {
          const created = await importUrl(urlInput.value.trim());
          tokens.set(created.id, created.tokens);
          followPicture(panel, created.id, created.tokens.owner, created.links);
        } catch (e) {
          urlError.textContent = e instanceof ApiError ? e.message : 'The server could not be reached. Try again.';
        }
      },
    },
    h('label', {}, 'Or import from a URL'),
    h('div', { class: 'row' }, urlInput, h('button', { type: 'submit' }, 'Import')),
    urlError,
  );
  root.replaceChildren(
    h('h1', {}, 'Upload a picture'),
    h('p', { class: 'muted' }, 'JPEG, PNG, TIFF or WebP, of any size: gigapixel scans and panoramas are what this is for.'),
    dropzone,
    urlForm,
    panel,
  );

  const max = await maxUploadBytes();
  const owners = new Map<string, string>();
  const pictures = new Map<string, string>();
  const uppy = new Uppy({
    autoProceed: true,
    restrictions: { maxNumberOfFiles: 1, maxFileSize: max, allowedFileTypes: null },
  })
    .use(Dashboard, {
      inline: true,
      target: dropzone,
      height: 300,
      width: '100%',
      proudlyDisplayPoweredByUppy: false,
      note: max ? `Up to ${Math.floor(max / 2 ** 20).toLocaleString('en')} MiB` : undefined,
    })
    .use(Tus, {
      endpoint: '/api/uploads',
      retryDelays: [0, 1000, 3000, 5000, 10000],
      removeFingerprintOnSuccess: true,
      onAfterResponse(req, res) {
        const owner = res.getHeader('Picture-Owner-Token');
        const location = res.getHeader('Location');
        if (owner && location) owners.set(new URL(location, window.location.href).href, owner);
        const picture = res.getHeader('Picture-Id');
        if (picture) pictures.set(new URL(req.getURL(), window.location.href).href, picture);
      },
    });
  uppy.on('upload-success', (file) => {
    const url = file?.tus?.uploadUrl ? new URL(file.tus.uploadUrl, window.location.href).href : null;
    const id = url ? pictures.get(url) : undefined;
    const owner = url ? owners.get(url) : undefined;
    if (id && owner) followPicture(panel, id, owner, null);
    else panel.replaceChildren(h('p', { class: 'error' }, 'The upload finished but the server did not name the picture. Try again.'));
  });
  uppy.on('upload-error', (_file, error, response) => {
    const status = (error as { originalResponse?: { getStatus(): number; getBody(): string } })?.originalResponse;
    let message = error.message;
    if (status) {
      let detail = status.getBody();
      try {
        detail = JSON.parse(detail).detail ?? detail;
      } catch {
        // plain text
      }
      message = friendly(status.getStatus(), detail);
    } else if (response?.status) {
      message = friendly(response.status, error.message);
    }
    uppy.info(message, 'error', 10000);
    panel.replaceChildren(h('p', { class: 'error' }, message));
  });
}
