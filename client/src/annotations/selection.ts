// Which comment thread is selected, and where it is open: on the map (the card at its
// bubble) or in the side panel. One selection for both, so choosing a thread in one
// highlights it in the other. No DOM.

export type ThreadPlace = 'map' | 'panel';

/** The selected thread, with listeners. */
export class ThreadSelection {
  private current: { id: string; place: ThreadPlace } | null = null;
  /** Called after every change. */
  readonly listeners = new Set<() => void>();

  /** The selected thread's id, if any. */
  get id(): string | null {
    return this.current?.id ?? null;
  }

  /** Where the selected thread is open, if one is. */
  get place(): ThreadPlace | null {
    return this.current?.place ?? null;
  }

  /** Whether thread `id` is the selected one, open in `place`. */
  isOpen(id: string, place: ThreadPlace): boolean {
    return this.current?.id === id && this.current.place === place;
  }

  select(id: string, place: ThreadPlace): void {
    if (this.isOpen(id, place)) return;
    this.current = { id, place };
    this.changed();
  }

  /** Clears the selection; with `id`, only if that thread is the selected one. */
  clear(id?: string): void {
    if (!this.current || (id !== undefined && this.current.id !== id)) return;
    this.current = null;
    this.changed();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
