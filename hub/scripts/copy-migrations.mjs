// tsc does not copy .sql files; the migrations travel next to the compiled store module.
import fs from 'node:fs';
const from = new URL('../src/store/migrations/', import.meta.url);
const to = new URL('../dist/store/migrations/', import.meta.url);
fs.mkdirSync(to, { recursive: true });
for (const f of fs.readdirSync(from)) if (f.endsWith('.sql')) fs.copyFileSync(new URL(f, from), new URL(f, to));
