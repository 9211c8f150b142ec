// The Hocuspocus server scripts/bench-hub compares HUGEpic's hub with.
//
// Environment:
//   PORT          listen port (default 1234), on 127.0.0.1
//   REDIS_URL     redis://HOST:PORT: the Redis extension, for several nodes (default: none)
//   SQLITE_PATH   SQLite file for the SQLite extension, or "off" (default: off).
//                 HUGEpic's hub appends every update to its SQLite log before fanning it
//                 out; the SQLite extension stores the whole document, debounced (2 s, at
//                 most 10 s), off the delivery path.
//   BENCH_TOKEN   the token onAuthenticate accepts (default "bench"); anything else is refused.
import { Server } from "@hocuspocus/server";
import { Redis } from "@hocuspocus/extension-redis";
import { SQLite } from "@hocuspocus/extension-sqlite";

const port = Number(process.env.PORT ?? 1234);
const token = process.env.BENCH_TOKEN ?? "bench";
const extensions = [];

if (process.env.REDIS_URL) {
  const url = new URL(process.env.REDIS_URL);
  extensions.push(
    new Redis({ host: url.hostname, port: Number(url.port || 6379), identifier: `bench-${port}` }),
  );
}
const sqlitePath = process.env.SQLITE_PATH ?? "off";
if (sqlitePath !== "off") {
  extensions.push(new SQLite({ database: sqlitePath }));
}

const server = new Server({
  name: `bench-${port}`,
  port,
  address: "127.0.0.1",
  quiet: true,
  extensions,
  async onAuthenticate({ token: offered }) {
    if (offered !== token) {
      throw new Error("wrong token");
    }
  },
});

await server.listen();
console.log(
  `hocuspocus listening on ws://127.0.0.1:${port} (pid ${process.pid}; redis ${process.env.REDIS_URL ?? "off"}; sqlite ${sqlitePath})`,
);
