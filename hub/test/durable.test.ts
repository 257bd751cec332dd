/**
 * The hub's durable file writes (src/durable.ts): an exclusive create refuses an existing file and
 * leaves it untouched; a replace leaves the old content or the new and no temp file; created
 * files are private (0600).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renameDurableSync, writeFileDurableSync } from '../src/durable.js';
import { removeDir, tmpDir } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('durable file writes', () => {
  it('creates exclusively, private, and refuses to replace an existing file', () => {
    const dir = tmpDir('durable');
    dirs.push(dir);
    const file = path.join(dir, 'keyring.json');
    writeFileDurableSync(file, 'first\n', { exclusive: true });
    expect(fs.readFileSync(file, 'utf8')).toBe('first\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(() => writeFileDurableSync(file, 'second\n', { exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(fs.readFileSync(file, 'utf8')).toBe('first\n');
  });

  it('replaces a file whole and leaves no temp file behind; a rename moves it durably', () => {
    const dir = tmpDir('durable');
    dirs.push(dir);
    const file = path.join(dir, 'state.json');
    writeFileDurableSync(file, 'old\n');
    writeFileDurableSync(file, 'new\n', { mode: 0o640 });
    expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
    renameDurableSync(file, path.join(dir, 'moved.json'));
    expect(fs.readdirSync(dir)).toEqual(['moved.json']);
  });
});
