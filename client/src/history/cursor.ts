// Where the replay is: one Y.Doc at one position of a ReplayIndex. Seeking a little
// forward applies the next updates to that same document (so playing is cheap and its
// observers see ordinary changes); any other seek builds a new document from the nearest
// checkpoint and hands it over through `onDoc`. Nothing here touches the live document.
import type * as Y from 'yjs';

import type { ReplayIndex } from './replay';

/** One replay document, moved along a ReplayIndex. */
export class ReplayCursor {
  private current: Y.Doc;
  private at: number;

  constructor(
    private readonly index: ReplayIndex,
    position: number,
    /** Called when the document is replaced (a seek back, or a long jump). */
    private readonly onDoc: (doc: Y.Doc) => void = () => {},
  ) {
    this.at = Math.max(0, Math.min(position, index.length));
    this.current = index.docAt(this.at);
  }

  get doc(): Y.Doc {
    return this.current;
  }

  get position(): number {
    return this.at;
  }

  /** Moves to `position` (clamped to the index). */
  seek(position: number): void {
    const target = Math.max(0, Math.min(position, this.index.length));
    if (target === this.at) return;
    if (target > this.at && target - this.at <= this.index.every) {
      this.index.applyTo(this.current, this.at, target);
      this.at = target;
      return;
    }
    const old = this.current;
    this.current = this.index.docAt(target);
    this.at = target;
    this.onDoc(this.current);
    old.destroy();
  }

  dispose(): void {
    this.current.destroy();
  }
}
