// The y-websocket reference server (@y/websocket-server) scripts/bench-hub compares
// HUGEpic's hub with: the package's own server script, run as it ships, so it is measured
// at its defaults. Every path is a room (the loader's /ws/pictures/room-N included); no
// token is checked.
//
// 0.1.1 is the newest release that installs: 0.1.5 depends on Yjs 14 pre-releases, and
// the @y/protocols release candidate it takes asks for a package (@y/y) with no release,
// which npm cannot resolve.
//
// Environment:
//   PORT   listen port (default 1234), on 127.0.0.1
//
// Documents stay in memory: YPERSISTENCE (the package's LevelDB persistence) and
// CALLBACK_URL (its HTTP callback on every change) are cleared, whatever the caller's
// environment holds.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

process.env.HOST = "127.0.0.1";
process.env.PORT ??= "1234";
delete process.env.YPERSISTENCE;
delete process.env.CALLBACK_URL;

// The package exports its utilities, not its server script: find the script beside its
// package.json.
const manifest = createRequire(import.meta.url).resolve("@y/websocket-server/package.json");
await import(pathToFileURL(join(dirname(manifest), "src", "server.js")).href);
console.log(`y-websocket server pid ${process.pid}, in memory`);
