/**
 * registry: 事前备案 checks against the RegistryView — staff filing (and permitted licence
 * classes), institution status, black list, red-list scope. A registry without `listing()`
 * makes the list checks skip.
 */
import { LIST_LABELS, STAFF_ROLE_LABELS, filingStatus, listingValidAt, type Staff } from '../../model/registry.js';
import type { WorkCalendar } from '../calendar.js';
import type { HitValues } from '../../model/warning.js';
import { compileFilters, type Finding, type Run } from '../compile-parts.js';
import type { RegistryRuleDefinition } from '../definition.js';
import { fieldGetter, isPresent, type FieldPath } from '../fields.js';
import { fnv1a64 } from '../hash.js';
import { compileRegistryIdentity } from './registry-identity.js';

/** For a person hash path ('agent.idHash') the getter of its masked display form. */
function maskedGetter(field: FieldPath) {
  return field.endsWith('.idHash') ? fieldGetter(field.replace(/\.idHash$/, '.masked') as FieldPath) : () => undefined;
}

function staffValues(status: string, staffId: string, role: string, roleLabel: string, staff: Staff | undefined, cal: WorkCalendar): HitValues {
  const values: HitValues = { reason: status, staffId, role, roleLabel };
  if (staff) {
    values.filedRole = staff.role;
    values.filedRoleLabel = STAFF_ROLE_LABELS[staff.role];
    values.validFrom = cal.local(staff.validFrom).date;
    values.validTo = staff.validTo === null ? '长期' : cal.local(staff.validTo).date;
  }
  return values;
}

export function compileRegistry(def: RegistryRuleDefinition): Run {
  const applies = compileFilters(def.when);
  switch (def.target) {
    case 'staff': {
      const idOf = fieldGetter(def.field);
      const classOf = def.classField ? fieldGetter(def.classField) : undefined;
      const { role, ifMissing } = def;
      const roleLabel = STAFF_ROLE_LABELS[role];
      return (txn, ctx) => {
        if (!applies(txn)) return null;
        const raw = idOf(txn);
        if (!isPresent(raw)) return ifMissing === 'skip' ? null : { reason: 'missing', values: { reason: 'missing', staffId: '', role, roleLabel } };
        const staffId = String(raw);
        const staff = ctx.registry.staff(staffId);
        const status = filingStatus(staff, role, txn.occurredAt);
        // The values (with two calendar lookups) only for a hit: nearly every record is filed.
        if (status !== 'ok') return { reason: status, values: staffValues(status, staffId, role, roleLabel, staff, ctx.calendar) };
        // Filed: check the licence class when both the record and the filing carry one.
        const cls = classOf?.(txn);
        if (!classOf || !isPresent(cls) || !staff?.classes) return null;
        if (staff.classes.includes(String(cls))) return null;
        const values = staffValues(status, staffId, role, roleLabel, staff, ctx.calendar);
        values.reason = 'class_not_permitted';
        values.licenceClass = String(cls);
        values.permittedClasses = staff.classes.join('、') || '无';
        return { reason: 'class_not_permitted', values };
      };
    }
    case 'institution':
      return (txn, ctx): Finding | null => {
        if (!applies(txn)) return null;
        const inst = ctx.registry.institution(txn.institutionId);
        if (!inst) return { reason: 'not_found', values: { reason: 'not_found' } };
        if (inst.status !== 'suspended') return null;
        return { reason: 'suspended', values: { reason: 'suspended', institutionName: inst.name } };
      };
    case 'spot_check': {
      const percent = def.params.samplePercent ?? 10;
      // Drawn by the record's id: in [0, 10000) and below percent × 100, the same on every
      // delivery and replay. Hashed only for the records of an institution under closer checks.
      const cut = Math.round(percent * 100);
      return (txn, ctx) => {
        if (!applies(txn)) return null;
        const inst = ctx.registry.institution(txn.institutionId);
        if (!inst?.closerChecks || parseInt(fnv1a64(txn.id).slice(-8), 16) % 10_000 >= cut) return null;
        return { reason: 'sampled', values: { reason: 'sampled', institutionName: inst.name, samplePercent: percent } };
      };
    }
    case 'listing': {
      const checks = def.fields.map((f) => ({ get: fieldGetter(f.field), masked: maskedGetter(f.field), label: f.label }));
      const list = def.list;
      const listName = LIST_LABELS[list];
      return (txn, ctx) => {
        if (!applies(txn)) return null;
        const lookup = ctx.registry.listing;
        if (!lookup) return null;
        for (const c of checks) {
          const v = c.get(txn);
          if (!isPresent(v)) continue;
          const l = lookup.call(ctx.registry, list, String(v));
          if (!l || l.list !== list || !listingValidAt(l, txn.occurredAt)) continue;
          const masked = c.masked(txn);
          return {
            reason: 'listed',
            values: { reason: 'listed', who: c.label, masked: typeof masked === 'string' ? masked : '', listName, note: l.note || '未注明' },
          };
        }
        return null;
      };
    }
    case 'red_list': {
      const get = fieldGetter(def.field);
      return (txn, ctx) => {
        if (!applies(txn)) return null;
        const lookup = ctx.registry.listing;
        const v = get(txn);
        if (!lookup || !isPresent(v)) return null;
        const l = lookup.call(ctx.registry, 'agent_red', String(v));
        if (!l || l.list !== 'agent_red' || l.scope !== 'own_org' || !l.organisationId || !listingValidAt(l, txn.occurredAt)) return null;
        if (l.organisationId === txn.institutionId) return null;
        return { reason: 'outside_org', values: { reason: 'outside_org', organisationId: l.organisationId, note: l.note || '未注明' } };
      };
    }
    case 'self_dealing':
    case 'device':
      return compileRegistryIdentity(def, applies);
  }
}
