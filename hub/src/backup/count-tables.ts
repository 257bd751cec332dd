/**
 * Counts the rows of tables in a store directory and prints them as JSON: run as a child process
 * by backup.ts to read a backup back (chDB binds one data directory per process, and the hub's
 * is its live store).
 *
 *   node count-tables.js <store dir> <table>…   →   {"transactions": 123, …}
 */
import { Session } from 'chdb';

const [dir, ...tables] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: count-tables <store dir> <table>…\n');
  process.exit(2);
}
const session = new Session(dir);
try {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    if (!/^[A-Za-z0-9_]+$/.test(t)) throw new Error(`not a table name: ${t}`);
    counts[t] = Number(session.query(`SELECT count() FROM \`${t}\``, 'CSV').trim());
  }
  process.stdout.write(`${JSON.stringify(counts)}\n`);
} finally {
  session.close();
}
