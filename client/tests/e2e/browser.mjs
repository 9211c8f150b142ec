// The Chromium every browser test uses (Debian's, driven by playwright-core; never a
// downloaded one), watching every page of every context for requests answered 404 (a
// missing asset, icon or tile): `close()` fails the test file if there was one.
import { chromium } from 'playwright-core';

/** Launches Chromium; its `close()` rejects if any page got a 404. */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const missing = [];
  const pages = [];
  const watch = (page) => {
    // The API's 404s are answers (a deleted picture), which the tests check themselves.
    // Requests the page does not report (the favicon) still log a console error without
    // their address: at the end, a page that logged more than its API 404s had a missing file.
    const seen = { url: '', api: 0, logged: 0 };
    pages.push(seen);
    page.on('response', (r) => {
      if (r.status() !== 404) return;
      // So are pages of pictures a visitor may not find (unknown, or unlisted).
      if (new URL(r.url()).pathname.startsWith('/api/') || r.request().isNavigationRequest()) seen.api += 1;
      else missing.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() !== 'error' || !/status of 404/.test(m.text())) return;
      seen.logged += 1;
      seen.url = page.url();
    });
  };
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.on('page', watch);
    return context;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    watch(page);
    return page;
  };
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    for (const p of pages) if (p.logged > p.api) missing.push(`${p.url}: ${p.logged - p.api} resource(s) answered 404 (see its console)`);
    const seen = [...new Set(missing)];
    if (seen.length > 0) throw new Error(`requests answered 404 during the tests:\n${seen.join('\n')}`);
  };
  return browser;
}
