// What an operator loads (deploy/): the alert rules and the Prometheus configuration pass
// `promtool`, the compose file passes `docker-compose config`, and every metric the rules
// and the Grafana dashboard name is in a live server's /metrics. And the JSON log format:
// every line of a `hugepic serve --log-format json` parses, carries the node, and the
// lines written while a request was handled carry the id returned in `X-Request-Id`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { freePort, png, startServer } from './server.mjs';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const deploy = path.join(root, 'deploy');
const stops = [];

after(async () => {
  for (const stop of stops) await stop();
});

/** Metric names in a PromQL text (a histogram's series named by their family). */
function metricNames(text) {
  return [...text.matchAll(/\bhugepic_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, ''));
}

test('promtool passes the alert rules and the Prometheus configuration; docker-compose passes the compose file', async () => {
  const rules = await run('promtool', ['check', 'rules', path.join(deploy, 'prometheus/alerts.yml')]);
  assert.match(rules.stdout, /SUCCESS: \d+ rules found/);
  const config = await run('promtool', ['check', 'config', path.join(deploy, 'prometheus/prometheus.yml')]);
  assert.match(config.stdout, /is valid prometheus config file syntax/);
  const compose = await run('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config']);
  assert.match(compose.stdout, /prometheus:/, 'the compose file starts Prometheus');
  assert.match(compose.stdout, /HUGEPIC_METRICS_BIND/, 'the workers serve their metrics');
});

test('every metric the alert rules and the dashboard use is in a live /metrics', async () => {
  const server = await startServer();
  stops.push(() => server.stop());
  const live = await (await fetch(`${server.base}/metrics`)).text();
  const exported = new Set([...live.matchAll(/^# TYPE (hugepic_[a-z0-9_]+) /gm)].map(([, name]) => name));
  assert.ok(exported.size >= 20, `a live /metrics: ${[...exported].join(' ')}`);

  const rules = fs.readFileSync(path.join(deploy, 'prometheus/alerts.yml'), 'utf8');
  const dashboard = JSON.parse(fs.readFileSync(path.join(deploy, 'grafana/hugepic.json'), 'utf8'));
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(exprs.length >= 14, `dashboard queries: ${exprs.length}`);
  for (const [where, names] of [
    ['the alert rules', metricNames(rules)],
    ['the dashboard', metricNames(exprs.join('\n'))],
  ]) {
    assert.ok(names.length >= 10, `${where} name metrics: ${names.join(' ')}`);
    const missing = [...new Set(names)].filter((name) => !exported.has(name));
    assert.deepEqual(missing, [], `${where} use metrics /metrics does not have`);
  }
  // What the issue asks the dashboard to cover, each by at least one of its queries.
  const dashboardNames = new Set(metricNames(exprs.join('\n')));
  for (const name of [
    'hugepic_hub_connections',
    'hugepic_hub_fanout_latency_seconds',
    'hugepic_hub_refused_updates_total',
    'hugepic_hub_repair_syncs_total',
    'hugepic_hub_relay_dropped_total',
    'hugepic_tiles_written_total',
    'hugepic_jobs_total',
    'hugepic_jobs_queued',
    'hugepic_jobs_oldest_queued_seconds',
    'hugepic_s3_requests_total',
    'hugepic_http_requests_total',
  ]) {
    assert.ok(dashboardNames.has(name), `the dashboard shows ${name}`);
  }
});

test('JSON logs: one object a line, with the node, and the request id the server returns', async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'hugepic-logs-'));
  const port = await freePort();
  const child = spawn(
    process.env.HUGEPIC_BIN,
    ['serve', '--data-dir', data, '--bind', `127.0.0.1:${port}`, '--log-format', 'json', '--default-visibility', 'public'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HUGEPIC_LOG: 'hugepic=debug' } },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  stops.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(data, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    assert.ok(tries < 300, `the server did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // An id the client gives comes back and is on the request's lines; one it does not
  // give is made up, and differs between requests.
  const given = await fetch(`${base}/api/pictures`, { headers: { 'X-Request-Id': 'ops-test-42' } });
  assert.equal(given.status, 200);
  assert.equal(given.headers.get('x-request-id'), 'ops-test-42');
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push((await fetch(`${base}/healthz`)).headers.get('x-request-id'));
  assert.ok(ids[0] && ids[1] && ids[0] !== ids[1], `ids made up per request: ${ids}`);
  const weird = await fetch(`${base}/healthz`, { headers: { 'X-Request-Id': 'a b\tc' } });
  assert.notEqual(weird.headers.get('x-request-id'), 'a b\tc', 'an id that is not plain is replaced');

  // A picture: its job's lines carry the job and the picture.
  const form = new FormData();
  form.append('file', new Blob([png(64, 48)]), 'p.png');
  const picture = await (await fetch(`${base}/api/pictures`, { method: 'POST', body: form })).json();
  for (let tries = 0; ; tries++) {
    const now = await (await fetch(`${base}/api/pictures/${picture.id}`)).json();
    if (now.status === 'ready') break;
    assert.ok(tries < 300 && now.status !== 'failed', `the picture: ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 200));

  const lines = stderr.split('\n').filter(Boolean);
  assert.ok(lines.length >= 5, stderr);
  const objects = lines.map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      assert.fail(`a log line that is not JSON: ${line}`);
    }
  });
  for (const o of objects) {
    assert.ok(typeof o.ts === 'string' && !Number.isNaN(Date.parse(o.ts)), `ts: ${JSON.stringify(o)}`);
    assert.ok(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(o.level), `level: ${JSON.stringify(o)}`);
  }
  const started = objects.findIndex((o) => o.message === 'serving');
  assert.ok(started >= 0, `a "serving" line: ${stderr}`);
  for (const o of objects.slice(started)) assert.match(String(o.node), /^node-[0-9a-f]{16}$/, `node on every line after start-up: ${JSON.stringify(o)}`);
  const mine = objects.filter((o) => o.request_id === 'ops-test-42');
  assert.ok(mine.length >= 1, `a line of the request with the given id: ${stderr.slice(0, 4000)}`);
  assert.ok(mine.every((o) => o.path === '/api/pictures' && o.method === 'GET'), JSON.stringify(mine));
  const built = objects.find((o) => o.message === 'pyramid built and stored');
  assert.ok(built, `the job's line: ${stderr.slice(0, 4000)}`);
  assert.equal(built.picture, picture.id);
  assert.equal(built.kind, 'build-pyramid');
  assert.ok(typeof built.job === 'string' && built.job.length > 0, `the job's id: ${JSON.stringify(built)}`);
});
