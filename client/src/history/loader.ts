// Filling a ReplayIndex from the server: the whole log the first time (`from=0`), then
// only what came after the last update it holds, so reopening or playing past the end
// picks up the changes made meanwhile. Progress is told as a share when the end is known.
import { streamFrames } from './api';
import type { Frame } from './frames';
import type { ReplayIndex } from './replay';

/** How far a load has come. */
export interface LoadProgress {
  /** Updates read so far in this load. */
  updates: number;
  /** 0..1 when the latest seq is known (from the activity), else null. */
  share: number | null;
}

/** Brings `index` up to the latest update; `latestSeq` (if known) only feeds progress. */
export async function loadIndex(
  pictureId: string,
  token: string | null,
  index: ReplayIndex,
  onProgress: (progress: LoadProgress) => void,
  latestSeq: number | null = null,
  signal?: AbortSignal,
): Promise<void> {
  const from = index.latestSeq;
  let updates = 0;
  let told = 0;
  const span = latestSeq !== null && latestSeq > from ? latestSeq - from : null;
  const onFrame = (frame: Frame) => {
    if (frame.type === 'checkpoint') {
      // Only a read without `from` starts with one; a fresh index can take it as its base
      // (a delta extends the base it follows).
      if (index.length === 0 && frame.seq > index.latestSeq) {
        if (frame.base === null) index.setBase(frame.seq, frame.at, frame.state);
        else if (frame.base === index.latestSeq) index.extendBase(frame.seq, frame.at, frame.state);
      }
      return;
    }
    if (frame.type !== 'update') return;
    if (index.append(frame)) updates += 1;
    // Telling the page every update would cost more than reading them.
    if (updates - told >= 250) {
      told = updates;
      onProgress({ updates, share: span ? Math.min(1, (frame.seq - from) / span) : null });
    }
  };
  await streamFrames(pictureId, token, from, onFrame, signal);
  onProgress({ updates, share: 1 });
}
