import { defineConfig } from 'vitest/config';

// The app is served by `hugepic serve` from dist/; `npm run dev` proxies the API to a
// server on :8000.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/tiles', '/iiif', '/ws'].map((p) => [p, { target: 'http://127.0.0.1:8000', ws: p === '/ws' }]),
    ),
  },
  test: {
    include: ['src/**/*.test.ts'],
    // Some tests build logs of thousands of updates: seconds on a loaded CI machine, and a
    // test is about what it checks, not how quick the machine is.
    testTimeout: 60_000,
  },
});
