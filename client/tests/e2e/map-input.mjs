// Mouse and keyboard on a picture page's map, the way a person uses the tools, and
// waiting for the page's own state (never for a fixed time). Shared by the browser tests
// that draw (history.test.mjs); the gestures are annotate.test.mjs's.

/** Leaflet ignores a drag that starts during a zoom animation, and arrow keys during a
 *  pan animation: wait for neither. */
export async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim'), null, { timeout: 20_000 });
}

/** Resolves after the page's next animation frame. */
export const frame = (page) => page.evaluate(() => new Promise((done) => window.requestAnimationFrame(() => done())));

/** A mouse drag on the map from `from` to `to` (map pixels), a frame per move: Leaflet
 *  applies a drag's moves on animation frames and drops those released before theirs. */
export async function drag(page, from, to, steps = 8) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / steps, box.y + from[1] + ((to[1] - from[1]) * i) / steps);
    await frame(page);
  }
  await frame(page);
  await page.mouse.up();
}

/** geoman's way: click a corner (or centre), move, click the other corner (or the rim). */
export async function clickTwice(page, from, to) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  // geoman places where its hint marker is, which follows mouse moves: move there first.
  await page.mouse.move(box.x + from[0] - 5, box.y + from[1] - 5);
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.click(box.x + from[0], box.y + from[1]);
  for (let i = 1; i <= 6; i++) {
    await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / 6, box.y + from[1] + ((to[1] - from[1]) * i) / 6);
  }
  await page.mouse.click(box.x + to[0], box.y + to[1]);
}

/** A click on the map at `at` (map pixels), the mouse arriving there first. */
export async function clickMap(page, at, options) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + at[0] - 5, box.y + at[1] - 5);
  await page.mouse.move(box.x + at[0], box.y + at[1]);
  await page.mouse.click(box.x + at[0], box.y + at[1], options);
}

/** Waits until `check(arg)` holds in the page; the error names `what`. */
export async function until(page, check, arg, what, timeout = 10_000) {
  try {
    await page.waitForFunction(check, arg, { timeout });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
}

/** A drawing tool's button. */
export const tool = (page, name) => page.getByRole('toolbar', { name: 'Drawing tools' }).getByRole('button', { name, exact: true });
