// What the history costs on disk, from the database itself: bytes of the update log and
// the checkpoints (tables with their indexes; SQLite pages from `dbstat`, PostgreSQL
// `pg_total_relation_size`, which counts TOAST and indexes) against the raw bytes of the
// updates, and the same for everything the history keeps (activity, shape changes,
// versions, snapshots). The benchmark's database holds one picture.
//
// PostgreSQL moves the log into packs once checkpoints cover it (migration 0007); the
// rows moved out leave free space in `document_log`'s file, which autovacuum hands back
// to the rows that come next (the table holds only the stretch after the last
// checkpoint of each picture). So for PostgreSQL both are reported: the files as they
// stand after the build (`files`), and after `VACUUM FULL document_log`, which gives the
// free space back at once: the figure compared with the goal.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const LOG = ['document_log', 'document_log_packs', 'document_logs', 'document_writers', 'document_checkpoints'];
const HISTORY = [...LOG, 'document_snapshots', 'document_history', 'document_activity', 'document_shape_changes', 'document_versions'];

async function sqlite(path, sql) {
  const { stdout } = await run('sqlite3', ['-readonly', '-separator', '\t', path, sql], { maxBuffer: 64 << 20 });
  return stdout.trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
}

async function psql(url, sql) {
  const { stdout } = await run('psql', [url, '-AtF', '\t', '-c', sql], { maxBuffer: 64 << 20 });
  return stdout.trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
}

/** `{raw, log, history, tables}` in bytes (PostgreSQL: also `log_files`, `history_files`); `db` is `{kind: 'sqlite', path}` or `{kind: 'postgres', url}`. */
export async function storage(db) {
  const tables = {};
  let raw;
  let files = null;
  if (db.kind === 'sqlite') {
    // Pages of each table and of its indexes (dbstat names each b-tree; sqlite_master maps
    // indexes to their table).
    const rows = await sqlite(
      db.path,
      `SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name`,
    );
    for (const [table, bytes] of rows) tables[table] = Number(bytes);
    raw = Number((await sqlite(db.path, `SELECT SUM(length("update")) FROM document_log`))[0][0]);
  } else {
    const sizes = async () => {
      const rows = await psql(
        db.url,
        `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'`,
      );
      return Object.fromEntries(rows.map(([table, bytes]) => [table, Number(bytes)]));
    };
    files = await sizes();
    await psql(db.url, 'VACUUM FULL document_log');
    Object.assign(tables, await sizes());
    raw = Number(
      (
        await psql(
          db.url,
          `SELECT COALESCE((SELECT SUM(octet_length("update")) FROM document_log), 0)
                + COALESCE((SELECT SUM(octet_length(u)) FROM document_log_packs, unnest(updates) u), 0)`,
        )
      )[0][0],
    );
  }
  const sum = (sizes, names) => names.reduce((total, name) => total + (sizes[name] ?? 0), 0);
  const out = { raw, log: sum(tables, LOG), history: sum(tables, HISTORY), tables };
  if (files) Object.assign(out, { log_files: sum(files, LOG), history_files: sum(files, HISTORY) });
  return out;
}

/** PostgreSQL's planner needs statistics, which autovacuum (on by default) gathers as
 *  tables grow. Where it is off (this project's test machine runs PostgreSQL with
 *  `autovacuum = off`), a history built in minutes has none, and the activity's first
 *  page was planned as a scan and sort of every entry (40 ms at 100,000 updates instead
 *  of 0.1 ms): ANALYZE once after the build, as autovacuum would. Whether it ran. */
export async function analyzeIfNoAutovacuum(db) {
  if (db.kind !== 'postgres') return false;
  const [[autovacuum]] = await psql(db.url, 'SHOW autovacuum');
  if (autovacuum !== 'off') return false;
  await psql(db.url, 'ANALYZE');
  return true;
}
