// The moment shown, in the address: `&t=<seq>` after the view in the hash, replaced
// (never a history entry), at most every HASH_EVERY_MS while scrubbing (browsers
// throttle replaceState), and taken out at once for "Back to live".
import { hashWithMoment } from './moment';

/** Hash writes while scrubbing, at most this often. */
const HASH_EVERY_MS = 250;

/** Writes the moment shown into the hash. */
export class Permalink {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq: number | null = null;

  /** Shows moment `seq` in the hash soon; null takes `&t=` out now. */
  set(seq: number | null): void {
    this.seq = seq;
    if (seq === null) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), HASH_EVERY_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const hash = hashWithMoment(location.hash, this.seq);
    if (hash !== location.hash) window.history.replaceState(window.history.state, '', `${location.pathname}${location.search}${hash}`);
  }
}
