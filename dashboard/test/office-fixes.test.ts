/**
 * Helpers behind the workbench's bulk conclusion, the audit screen's filter, the institution
 * screen's peer ranking, and a guard that every link to an API file is left to the browser.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTION_GROUPS } from '@jianguan/protocol/auth';
import { auditFilterActions } from '$lib/app/audit';
import { peerRanking } from '$lib/app/aggregate';
import { bulkConcludeQuestion } from '$lib/app/workflow';
import { inEnglish } from './locale';

describe('bulk conclusion question', () => {
  it('says how many, how many high-severity, the note, and that it cannot be undone', () => {
    const [title, body] = bulkConcludeQuestion(12, 3, '复核不成立');
    expect(title).toBe('批量结论：正常（12 条）');
    expect(body).toContain('12 条预警（其中高风险 3 条）');
    expect(body).toContain('复核不成立');
    expect(body).toContain('不能撤回');
    expect(body).toContain('计入机构考核');
    expect(bulkConcludeQuestion(2, 0, 'x')[1]).not.toContain('高风险');
    inEnglish(() => {
      const [t, b] = bulkConcludeQuestion(12, 3, 'n');
      expect(t).toBe('Conclude 12 warning(s) as normal');
      expect(b).toContain('3 of them high-severity');
      expect(b).not.toMatch(/\p{Script=Han}/u);
    });
  });
});

describe('audit filter', () => {
  it('sends a group as all of its exact codes, a code as itself', () => {
    expect(auditFilterActions('')).toBeUndefined();
    expect(auditFilterActions('auth.login')).toBe('auth.login');
    const steps = auditFilterActions('group:warning')!.split(',');
    expect(steps).toContain('warning.conclude');
    expect(steps).toContain('warning.acknowledge');
    expect(steps).not.toContain('warning.bulk.conclude');
    expect(auditFilterActions('group:warning_bulk')!.split(',')).toContain('warning.bulk.conclude');
    expect(auditFilterActions('group:nope')).toBeUndefined();
    for (const g of AUDIT_ACTION_GROUPS) expect(auditFilterActions(`group:${g.key}`)!.split(',').length).toBe(Object.keys(g.actions).length);
  });
});

describe('peer ranking', () => {
  const row = (institutionName: string, score: number, transactions: number, rank = 0) => ({ institutionName, score, transactions, graded: transactions > 0, grade: 'A' as const, gradeLabel: '优秀', rank });
  it('ranks graded institutions by score and puts those without business after them, unnumbered', () => {
    const r = peerRanking([row('甲', 100, 0), row('乙', 92.5, 40, 2), row('丙', 97, 10, 1), row('丁', 100, 0)]);
    expect(r.map((x) => [x.row.institutionName, x.rank])).toEqual([
      ['丙', 1],
      ['乙', 2],
      ['丁', null],
      ['甲', null],
    ]);
  });
});

describe('links to API files', () => {
  const ROUTES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'routes');
  const files = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.svelte') ? [path.join(dir, e.name)] : []));
  it('are left to the browser (SvelteKit would route or preload them as pages: "Not found: /api/v1/…")', () => {
    const bad: string[] = [];
    for (const f of files(ROUTES)) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/<a\b[^>]*\bhref="\/api\/[^>]*>/g)) {
        if (!/\b(download|data-sveltekit-reload|target=)/.test(m[0]) && !/rel="[^"]*external/.test(m[0])) bad.push(`${path.relative(ROUTES, f)}: ${m[0].slice(0, 120)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
