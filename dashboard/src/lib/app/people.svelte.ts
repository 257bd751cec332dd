/**
 * People by display name: the office directory (GET /api/v1/people) loaded once per page load,
 * and filed staff by institution (GET /api/v1/registry/staff?institution=) on demand. Screens
 * call `name(username)` / `staffName(id)`; until the answer arrives the raw id is not shown —
 * an ellipsis is.
 */
import { api } from './api';
import { L } from './lang';

export interface Person {
  username: string;
  displayName: string;
  roles: string[];
  roleNames: string[];
  scope: string | null;
}

class People {
  byUser = $state.raw<ReadonlyMap<string, Person>>(new Map());
  staff = $state.raw<ReadonlyMap<string, { name: string; role: string; institutionId: string }>>(new Map());
  private loading: Promise<void> | null = null;
  private staffLoaded = new Set<string>();

  load(): Promise<void> {
    this.loading ??= api<{ items: Person[] }>('/api/v1/people', { noRedirect: true })
      .then((r) => {
        this.byUser = new Map(r.items.map((p) => [p.username, p]));
      })
      .catch(() => undefined);
    return this.loading;
  }

  /** Display name of a user; system actors and unknown users get a readable label. */
  name(username: string | null | undefined): string {
    if (!username) return '—';
    const p = this.byUser.get(username);
    if (p) return p.displayName;
    if (username === 'system' || username.startsWith('system')) return L('系统', 'System');
    return this.byUser.size ? L('已停用用户', 'Former user') : '…';
  }

  async loadStaff(institutionId: string): Promise<void> {
    if (!institutionId || this.staffLoaded.has(institutionId)) return;
    this.staffLoaded.add(institutionId);
    try {
      const r = await api<{ items: { id: string; name: string; role: string; institutionId: string }[] }>(`/api/v1/registry/staff?institution=${encodeURIComponent(institutionId)}`, { noRedirect: true });
      const next = new Map(this.staff);
      for (const s of r.items) next.set(s.id, { name: s.name, role: s.role, institutionId: s.institutionId });
      this.staff = next;
    } catch {
      /* readers without registry access see the masked fallback */
    }
  }

  /** A filed staff member's name; an unfiled id is itself the finding, so it is shown as such. */
  staffName(id: string | null | undefined): string {
    if (!id) return '—';
    const s = this.staff.get(id);
    return s ? (s.name || L('（未登记姓名）', '(no name on file)')) : L(`未备案人员（工号 ${id}）`, `Unfiled staff (no. ${id})`);
  }
}

export const people = new People();
