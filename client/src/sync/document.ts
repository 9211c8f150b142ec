// The annotation document's top-level maps (DESIGN.md), named here once: `shapes` (shape
// id → Y.Map {type, geometry, style, author, author_id, created, text?}, read and
// written by ./shapes) and `comments` (thread id → Y.Map {target, messages, resolved?},
// by ./threads).
import type * as Y from 'yjs';

/** The shapes of `doc`, by id. */
export function shapesOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap('shapes');
}

/** The comment threads of `doc`, by id. */
export function commentsOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap('comments');
}
