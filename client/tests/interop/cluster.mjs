// What a multi-node test needs beside `hugepic serve`: a PostgreSQL database of its
// own (on the machine's server, 127.0.0.1:5432), a private Redis it may stop and
// start, and the migrations applied.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';

import { freePort } from './server.mjs';

const run = promisify(execFile);
const PG = process.env.HUGEPIC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';

/** A fresh database; `drop()` removes it. */
export async function createDatabase() {
  const name = `hugepic_nodes_${randomBytes(4).toString('hex')}`;
  await run('psql', [`${PG}/postgres`, '-qc', `CREATE DATABASE ${name}`]);
  const url = `${PG}/${name}`;
  await run(process.env.HUGEPIC_BIN, ['migrate', '--database-url', url]);
  return {
    url,
    async drop() {
      await run('psql', [`${PG}/postgres`, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
  });
}

/** A Redis of this test's own on a free port; `stop()` kills it, `start()` brings it back. */
export async function startRedis() {
  const port = await freePort();
  let child = null;
  const redis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      const deadline = Date.now() + 10_000;
      while (!(await ping(port))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  await redis.start();
  return redis;
}
