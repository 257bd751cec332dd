/**
 * Every action code the hub writes to the audit log has a name in the shared list
 * (AUDIT_ACTION_GROUPS in @jianguan/protocol), which the audit screen and the audit export both
 * read: a new code cannot reach the screen as "其他操作" or the export as a bare code.
 *
 * The codes are read from the hub's source — a route's `audit: '…'`, an `auditNote`'s or an
 * `auditLater` row's `action: '…'`, the fallbacks of the audit hook — and the codes built from a
 * template are expanded from the lists they are built from. The routes that declare no code at all
 * are checked against a running hub in workflow.integration.test.ts (audit log).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTIONS, AUDIT_TARGET_TYPES, auditActionName, WARNING_STEP_NAMES } from '../src/protocol/index.js';
import { ActionSchema } from '../src/workflow/service.js';
import { auditDetailText } from '../src/auth/audit-text.js';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const STEPS = ActionSchema.options.map((o) => o.shape.type.value);

/** Codes built from a template, and what each expands to. A new template must be added here. */
const TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  'warning.${action.type}': STEPS.map((s) => `warning.${s}`),
  'warning.bulk.${req.body.action.type}': STEPS.map((s) => `warning.bulk.${s}`),
  'registry.${decision}': ['registry.approve', 'registry.reject'],
};

/** The codes in the hub's source, and the templates it builds codes from (file:line each). */
function codesInSource(): { codes: Map<string, string>; templates: Map<string, string> } {
  const codes = new Map<string, string>();
  const templates = new Map<string, string>();
  // `audit: 'x.y'` (a route's code), `action: 'x.y'` (a note or a row written directly), and the
  // audit hook's fallbacks ('auth.token_invalid' : 'read.denied').
  const literal = /\b(?:audit|action)\s*:\s*(['`])([a-z_]+(?:\.[a-z_${}.]+)+)\1/g;
  for (const file of sources(SRC)) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(SRC, file);
    const lineOf = (i: number) => `${rel}:${text.slice(0, i).split('\n').length}`;
    for (const m of text.matchAll(literal)) {
      // Telemetry events share the `noun.verb` shape but are not audit rows.
      const before = text.slice(Math.max(0, m.index - 200), m.index);
      if (/emit\([^)]*$/.test(before) && !/audit/i.test(before.slice(-80))) continue;
      const code = m[2]!;
      if (code.includes('${')) templates.set(code, lineOf(m.index));
      else codes.set(code, lineOf(m.index));
    }
    for (const m of text.matchAll(/\?\s*'([a-z_]+\.[a-z_]+)'\s*:\s*'([a-z_]+\.[a-z_]+)'/g)) {
      if (!/tokenRejected/.test(text.slice(Math.max(0, m.index - 120), m.index))) continue;
      codes.set(m[1]!, lineOf(m.index));
      codes.set(m[2]!, lineOf(m.index));
    }
  }
  return { codes, templates };
}

describe('audit vocabulary', () => {
  const { codes, templates } = codesInSource();

  it('reads a plausible set of codes from the source', () => {
    // Guards the scan itself: if these go missing, the pattern above stopped matching.
    for (const c of ['auth.login', 'warning.evidence', 'collector.auth_failed', 'auth.token_invalid', 'read.denied', 'kiosk.exchange', 'wall.denied', 'decision.request']) expect(codes.has(c), c).toBe(true);
    expect(codes.size).toBeGreaterThan(30);
  });

  it('names every code the hub writes', () => {
    const unnamed = [...codes].filter(([c]) => !AUDIT_ACTIONS.has(c)).map(([c, at]) => `${c} (${at})`);
    expect(unnamed).toEqual([]);
  });

  it('expands every templated code and names each expansion', () => {
    const unknown = [...templates].filter(([t]) => !TEMPLATES[t]).map(([t, at]) => `${t} (${at})`);
    expect(unknown).toEqual([]);
    const unnamed = [...templates.keys()].flatMap((t) => TEMPLATES[t] ?? []).filter((c) => !AUDIT_ACTIONS.has(c));
    expect(unnamed).toEqual([]);
  });

  it('names every warning step the workflow accepts', () => {
    expect(Object.keys(WARNING_STEP_NAMES).sort()).toEqual([...STEPS].sort());
  });

  it('has each code in one group only, with a Chinese and an English name', () => {
    const all = AUDIT_ACTION_GROUPS.flatMap((g) => Object.keys(g.actions));
    expect(new Set(all).size).toBe(all.length);
    for (const [code, [zh, en]] of AUDIT_ACTIONS) {
      expect(zh, code).toMatch(/\p{Script=Han}/u);
      expect(en, code).toMatch(/^[\x20-\x7e]+$/);
    }
    // A code outside the list shows as itself, never as a blank "other".
    expect(auditActionName('POST /api/v1/x')).toEqual(['POST /api/v1/x', 'POST /api/v1/x']);
  });

  it('names every kind of object an audit row names', () => {
    const kinds = new Set<string>();
    for (const file of sources(SRC)) for (const m of fs.readFileSync(file, 'utf8').matchAll(/targetType:\s*'([a-z_]+)'/g)) kinds.add(m[1]!);
    expect([...kinds].filter((k) => !AUDIT_TARGET_TYPES[k])).toEqual([]);
  });
});

describe('audit detail in words', () => {
  it('writes each key as 键：值 with codes named, keeping everything', () => {
    const text = auditDetailText(JSON.stringify({ expectedSeq: 3, type: 'conclude', conclusion: 'false_alarm', comment: '复核不成立', refs: ['A-1', 'A-2'] }));
    expect(text.split('\n')).toEqual(['预期版本号：3', '动作：核查结论', '结论：正常（误报）', '说明：复核不成立', '关联文书：A-1、A-2']);
    expect(auditDetailText(JSON.stringify({ roles: ['auditor'], scope: '451203', passwordReset: false, somethingNew: { a: 1 } }))).toBe('角色：核查人员\n范围：宜州区\n重置密码：否\nsomethingNew：{"a":1}');
    expect(auditDetailText(JSON.stringify({ error: { code: 'CONFLICT', message: 'seq 3 expected' } }))).toBe('错误：CONFLICT：seq 3 expected');
    expect(auditDetailText('')).toBe('');
    expect(auditDetailText('not json')).toBe('not json');
  });
});
