// `/p/{id}` (the viewer with its page: title, owner tools, share/embed dialog) and
// `/embed/{id}` (the viewer alone, for iframes).
import { startAnnotations } from './annotations/session';
import { loadUser } from './annotations/user';
import { annotationLinks, ApiError, deletePicture, getPicture, importAnnotations, stageText, tokenFor, tokens, updatePicture, watchProgress } from './api';
import type { Picture } from './api';
import { startHistory } from './history/session';
import { openViewer } from './map/viewer';
import type { Viewer } from './map/viewer';
import { copyField, h, megapixels } from './ui/dom';
import { DRAWING_KEYS, HISTORY_KEYS, shortcutHelp, VIEWER_KEYS } from './ui/shortcuts';
import { hashExtras, viewToHash } from './view';

/** Waits (showing progress) until a picture is ready; rejects if it failed. */
async function whenReady(root: HTMLElement, picture: Picture, token: string | null): Promise<Picture> {
  if (picture.status === 'ready') return picture;
  const stage = h('p', { class: 'stage', 'aria-live': 'polite' }, 'This picture is still being prepared…');
  root.replaceChildren(h('section', { class: 'waiting' }, h('h1', {}, picture.title || 'Untitled'), stage));
  await new Promise<void>((resolve, reject) => {
    watchProgress(picture.id, token, (p) => {
      stage.textContent = stageText(p);
      if (p.status === 'ready') resolve();
      if (p.status === 'failed') reject(new Error(p.error ?? 'tiling failed'));
    });
  });
  return getPicture(picture.id, token);
}

/** The token a shared link or embed carries: none for a public picture; for an unlisted
 *  one a view token (the browser's, or the page's own when it is one), never more. */
function shareToken(picture: Picture, token: string | null): string | null {
  if (picture.visibility === 'public') return null;
  return tokens.get(picture.id).view ?? (picture.role === 'view' ? token : null);
}

function shareDialog(picture: Picture, viewer: Viewer, token: string | null): HTMLDialogElement {
  // The history's moment, when one is shown, goes with the view.
  const hash = viewToHash(viewer.view()) + hashExtras(location.hash);
  const viewToken = shareToken(picture, token);
  const query = viewToken ? `?token=${encodeURIComponent(viewToken)}` : '';
  const link = `${location.origin}/p/${picture.id}${query}${hash}`;
  const embed = `${location.origin}/embed/${picture.id}${query}${hash}`;
  const snippet = `<iframe src="${embed}" width="800" height="600" style="border:0" allowfullscreen title="${picture.title.replace(/"/g, '&quot;')}"></iframe>`;
  const unreachable =
    picture.visibility !== 'public' && !viewToken
      ? h('p', { class: 'muted', 'data-test': 'share-unlisted' }, 'This picture is unlisted: only its links open it, and this page holds no view link to share. Ask the owner for one.')
      : null;
  const held = tokens.get(picture.id);
  const roleLinks = (['edit', 'comment', 'view'] as const)
    .filter((r) => held[r])
    .map((r) => copyField(`${r[0].toUpperCase()}${r.slice(1)} link`, `${location.origin}/p/${picture.id}?token=${encodeURIComponent(held[r])}${hash}`));
  const dialog = h(
    'dialog',
    { class: 'share', 'aria-label': 'Share or embed' },
    h('h2', {}, 'Share this view'),
    copyField(viewToken ? 'Link to this view (view only)' : 'Link to this view', link),
    copyField('Embed (iframe)', snippet, true),
    unreachable,
    ...(roleLinks.length ? [h('h3', {}, 'Links with a role'), ...roleLinks] : []),
    annotationsElsewhere(picture, token),
    h('form', { method: 'dialog' }, h('button', { type: 'submit' }, 'Close')),
  );
  dialog.addEventListener('close', () => dialog.remove());
  return dialog;
}

/** The share dialog's part on annotations in other tools: downloads (W3C JSON-LD, CSV),
 *  the IIIF manifest for Mirador and other viewers, and (edit, owner) an import. */
function annotationsElsewhere(picture: Picture, token: string | null): HTMLElement {
  const links = annotationLinks(picture.id, shareToken(picture, token) ?? token);
  const mirador = `https://projectmirador.org/embed/?iiif-content=${encodeURIComponent(links.manifest)}`;
  const section = h(
    'section',
    { class: 'elsewhere' },
    h('h3', {}, 'Annotations in other tools'),
    h(
      'p',
      { class: 'downloads' },
      'Download annotations: ',
      h('a', { href: links.jsonld, download: `${picture.id}-annotations.jsonld` }, 'W3C JSON-LD'),
      ' · ',
      h('a', { href: links.csv, download: '' }, 'CSV (comments)'),
      ' · ',
      h('a', { href: mirador, target: '_blank', rel: 'noopener' }, 'Open in Mirador'),
    ),
    copyField('IIIF manifest', links.manifest),
  );
  const role = picture.role ?? 'view';
  if (token && (role === 'edit' || role === 'owner')) {
    const result = h('p', { class: 'muted import-result', 'aria-live': 'polite' });
    const input = h('input', { type: 'file', accept: '.json,.jsonld,application/json,application/ld+json', 'aria-label': 'Import annotations' });
    input.addEventListener('change', async () => {
      const file = input.files?.[0];
      if (!file) return;
      result.textContent = `Importing ${file.name}…`;
      try {
        const done = await importAnnotations(picture.id, token, await file.text(), loadUser());
        const skipped = done.skipped.length ? ` Left out ${done.skipped.length}: ${done.skipped.slice(0, 3).map((s) => `${s.id} (${s.reason})`).join('; ')}${done.skipped.length > 3 ? '…' : ''}` : '';
        const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
        result.textContent = `Imported ${count(done.created.shapes, 'shape')} and ${count(done.created.messages, 'comment')} as one change (History can restore the moment before it).${skipped}`;
      } catch (e) {
        result.textContent = e instanceof Error ? e.message : 'Could not import.';
      }
      input.value = '';
    });
    section.append(h('label', { class: 'import' }, h('span', { class: 'label' }, 'Import W3C, Annotorious or IIIF annotations (JSON)'), input), result);
  }
  return section;
}

function ownerTools(picture: Picture, token: string, header: HTMLElement): HTMLElement {
  const title = h('input', { type: 'text', name: 'title', 'aria-label': 'Title', maxlength: '200' });
  title.value = picture.title;
  const description = h('textarea', { name: 'description', 'aria-label': 'Description', rows: '3' });
  description.value = picture.description;
  const visibility = h(
    'select',
    { name: 'visibility', 'aria-label': 'Who can find it' },
    h('option', { value: 'unlisted' }, 'Unlisted: only people with a link'),
    h('option', { value: 'public' }, 'Public: in the gallery, anyone can view'),
  );
  visibility.value = picture.visibility;
  const message = h('p', { class: 'muted', 'aria-live': 'polite' });
  return h(
    'details',
    { class: 'owner-tools' },
    h('summary', {}, 'Edit'),
    h(
      'form',
      {
        onsubmit: async (event: Event) => {
          event.preventDefault();
          try {
            const saved = await updatePicture(picture.id, token, { title: title.value, description: description.value, visibility: visibility.value as Picture['visibility'] });
            picture.visibility = saved.visibility;
            const heading = header.querySelector('h1');
            if (heading) heading.textContent = saved.title || 'Untitled';
            message.textContent = 'Saved.';
          } catch (e) {
            message.textContent = e instanceof Error ? e.message : 'Could not save.';
          }
        },
      },
      title,
      description,
      h('label', { class: 'visibility' }, h('span', { class: 'label' }, 'Who can find it'), visibility),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save')),
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!confirm('Delete this picture and all its tiles? This cannot be undone.')) return;
          try {
            await deletePicture(picture.id, token);
            tokens.forget(picture.id);
            location.assign('/');
          } catch (e) {
            message.textContent = e instanceof Error ? e.message : 'Could not delete.';
          }
        },
      },
      'Delete picture',
    ),
    message,
  );
}

/** What a link's role allows, in the person's words. */
export function roleText(role: NonNullable<Picture['role']>): string {
  switch (role) {
    case 'owner':
      return 'Owner: you can draw, comment, share and delete';
    case 'edit':
      return 'You can draw and comment';
    case 'comment':
      return 'You can comment';
    case 'view':
      return 'View only';
  }
}

export async function picturePage(root: HTMLElement, id: string, embed: boolean): Promise<void> {
  const token = tokenFor(id, { embed });
  let picture: Picture;
  try {
    picture = await whenReady(root, await getPicture(id, token), token);
  } catch (e) {
    root.replaceChildren(h('section', { class: 'error-page' }, h('h1', {}, 'This picture cannot be shown'), h('p', {}, e instanceof ApiError || e instanceof Error ? e.message : String(e))));
    return;
  }
  document.title = `${picture.title || 'Untitled'} · HUGEpic`;
  const mapElement = h('div', { class: 'map', tabindex: '0', 'aria-label': `Picture: ${picture.title}`, id: 'map' });
  // The annotation history's panel opens under the map, in the map's column.
  const historyHost = h('div', { class: 'history-host' });
  const viewerRoot = h('div', { class: 'viewer-root' }, h('div', { class: 'map-column' }, mapElement, historyHost));
  if (embed) {
    root.replaceChildren(viewerRoot);
    const viewer = await openViewer(mapElement, picture, { chrome: false });
    // Embeds show the annotations read-only, and their history as a read-only replay;
    // `?annotations=off` leaves both out.
    if (new URLSearchParams(location.search).get('annotations') !== 'off') {
      const live = startAnnotations({ picture, viewer, token, role: 'view', readOnly: true });
      startHistory({ picture, viewer, token, live, canWrite: false, host: historyHost });
    }
    return;
  }
  const status = h('span', { class: 'connection', 'aria-live': 'polite', title: 'Live annotation connection' });
  // The side panel's place exists before the map, so the map's first size is its size.
  const side = h('div', { class: 'side-host' });
  viewerRoot.append(side);
  const header = h(
    'header',
    { class: 'picture-header' },
    h('h1', {}, picture.title || 'Untitled'),
    h('span', { class: 'meta' }, megapixels(picture.width, picture.height)),
    h('span', { class: 'role', 'data-role': picture.role ?? 'view', title: 'What this link allows' }, roleText(picture.role ?? 'view')),
    status,
  );
  // In the header before the map is sized: anything added later would move the view.
  const writes = picture.role === 'owner' || picture.role === 'edit';
  const help = shortcutHelp([
    ['Picture', VIEWER_KEYS],
    ...(writes ? [['Drawing', DRAWING_KEYS] as const] : []),
    ['History', HISTORY_KEYS],
  ]);
  header.append(h('button', { type: 'button', class: 'link shortcuts-button', title: 'Keyboard shortcuts (?)', onclick: () => help.open() }, 'Keys ?'));
  if (picture.role === 'owner' && token) header.append(ownerTools(picture, token, header));
  root.replaceChildren(header, viewerRoot, h('p', { class: 'description' }, picture.description));
  let viewer: Viewer | null = null;
  viewer = await openViewer(mapElement, picture, {
    chrome: true,
    onShare: () => {
      if (!viewer) return;
      const dialog = shareDialog(picture, viewer, token);
      document.body.append(dialog);
      dialog.showModal();
    },
  });
  const role = picture.role ?? 'view';
  const live = startAnnotations({ picture, viewer, token, role, readOnly: false, status, panelHost: side });
  startHistory({ picture, viewer, token, live, canWrite: role === 'owner' || role === 'edit', host: historyHost, status });
}
