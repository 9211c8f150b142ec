# The annotation history benchmark's table, from the JSON objects bench/history/run.mjs
# prints (one per database): a row per measure, a column per database.
# Usage: jq -rs -f bench/history/table.jq RESULTS.jsonl
  def ms: . * 10 | round / 10;
  def mib: . / 1048576 * 10 | round / 10;
  def x: . * 100 | round / 100 | tostring + "×";
  def names: map(if .db == "sqlite" then "SQLite" else "PostgreSQL" end);
  def row($name; $goal; f): "| \($name) | \($goal) | " + (map(f | tostring) | join(" | ")) + " |";
  . as $runs
  | "### Annotation history: \($runs[0].updates) updates from \($runs[0].clients) stock Yjs clients, \($runs[0].build.live_shapes) live shapes at the end (\($runs[0].placement))",
    "",
    "| measure | goal | " + (names | join(" | ")) + " |",
    "| --- | --- | " + (map("---:") | join(" | ")) + " |",
    ($runs | row("build: wall s / server CPU s"; ""; "\(.build.seconds | ms) / \(.build.cpu_s | ms)")),
    ($runs | row("seek via history/frames: p50 / p99 ms (median of runs) [each run's p99; the first makes the checkpoint lines the others find kept]"; "p99 ≤ 100 ms"; "\(.frames.p50 | ms) / \(.frames.p99 | ms) [\(.frames.runs | map(.p99 | ms | tostring) | join(", "))]")),
    ($runs | row("same, encoding=v2 (checkpoints as stored): p50 / p99 ms"; ""; if .frames_v2 then "\(.frames_v2.p50 | ms) / \(.frames_v2.p99 | ms)" else "—" end)),
    ($runs | row("history/state: p50 / p99 ms (most log rows read)"; ""; "\(.state.p50 | ms) / \(.state.p99 | ms) (\(.state.most_updates_read))")),
    ($runs | row("activity, first page: p50 / p99 ms"; "≤ 50 ms"; "\(.activity.p50 | ms) / \(.activity.p99 | ms)")),
    ($runs | row("storage: log + checkpoints / raw update bytes"; "≤ 2×"; "\(.storage.log_ratio | x) (\(.storage.log | mib) / \(.storage.raw | mib) MiB)")),
    ($runs | row("storage: everything the history keeps / raw update bytes"; ""; "\(.storage.history_ratio | x) (\(.storage.history | mib) MiB)")),
    ($runs | row("storage, PostgreSQL's files before the space freed by packing is reused: log + checkpoints / everything"; ""; if .storage.log_files then "\(.storage.log_files / .storage.raw | x) / \(.storage.history_files / .storage.raw | x)" else "—" end)),
    ($runs | row("restore to an early moment, \(.[0].watchers) connections + \(.[0].yjs_watchers) \(if .[0].quiet_watchers then "quiet" else "stock" end) Yjs clients: POST answered / last connection has it / last Yjs client holds it, ms (update size)"; "≤ 500 ms"; "\(.restore.post_ms | ms) / \(.restore.delivered_ms | ms) / \(.restore.applied_ms | ms) (\((.restore.update_bytes // 0) / 1024 | round) KiB)")),
    ($runs | row("restore back to the latest: last connection has it / last Yjs client holds it, ms (update size)"; ""; "\(.restore.back_delivered_ms | ms) / \(.restore.back_applied_ms | ms) (\((.restore.back_update_bytes // 0) / 1024 | round) KiB)")),
    ($runs | row("connections the server closed during restores (lost for good)"; "0"; "\(.restore.closes | length) (\(.restore.watchers_lost)) \(.restore.closes | unique | join("; "))")),
    ($runs | row("server CPU s: frames seeks (v1 / v2) / state seeks / activity / restores"; ""; "\(.frames.cpu_s | ms) / \((.frames_v2.cpu_s // 0) | ms) / \(.state.cpu_s | ms) / \(.activity.cpu_s | ms) / \(.restore.cpu_s | ms)")),
    (([$runs[].client[]?.measure] | unique[]) as $m
      | ($runs | row($m; ([.[].client[]? | select(.measure == $m) | .goal][0] // ""); ([.client[]? | select(.measure == $m) | .value][0] // "—")))),
    (if ([$runs[].client[]?] | length) == 0 then
      ($runs | row("Chromium: a moment rebuilt / playback at 60 fps (bench/history/client-*.mjs)"; ""; "not measured yet"))
     else empty end)
