/**
 * registry targets that reach a person or a device through the registry rather than through the
 * record: `self_dealing` (the operator's filed identity hash against the applicant's and the
 * agent's, as of the record's time) and `device` (is the device filed for this institution,
 * valid and calibrated at the record's time).
 */
import { DEVICE_KIND_LABELS, deviceStatus } from '../../model/registry.js';
import type { Finding, Run, Test } from '../compile-parts.js';
import type { RegistryRuleDefinition } from '../definition.js';
import { fieldGetter, isPresent } from '../fields.js';

type IdentityDefinition = Extract<RegistryRuleDefinition, { target: 'self_dealing' | 'device' }>;

export function compileRegistryIdentity(def: IdentityDefinition, applies: Test): Run {
  const idOf = fieldGetter(def.field);
  if (def.target === 'self_dealing') {
    const hashOf = def.hashField ? fieldGetter(def.hashField) : undefined;
    const subjectOf = fieldGetter('subject.idHash');
    const subjectMasked = fieldGetter('subject.masked');
    const agentOf = fieldGetter('agent.idHash');
    const agentMasked = fieldGetter('agent.masked');
    return (txn, ctx): Finding | null => {
      if (!applies(txn)) return null;
      const subject = subjectOf(txn);
      const agent = agentOf(txn);
      if (!isPresent(subject) && !isPresent(agent)) return null;
      const staffId = idOf(txn);
      // Both identities of the operator: the registry's (the feed names the clerk by user code
      // only) and the record's own (a feed that reads the business system's user table).
      const filed = isPresent(staffId) ? ctx.registry.staff(String(staffId))?.idHash : undefined;
      const rawOwn = hashOf?.(txn);
      const own = isPresent(rawOwn) ? String(rawOwn) : undefined;
      if (filed === undefined && own === undefined) return null;
      const sid = isPresent(staffId) ? String(staffId) : '';
      const match = (h: unknown): 'registry' | 'record' | undefined =>
        !isPresent(h) ? undefined : filed === h ? 'registry' : own === h ? 'record' : undefined;
      const bySubject = match(subject);
      if (bySubject) return { reason: 'applicant', values: { reason: 'applicant', staffId: sid, masked: String(subjectMasked(txn) ?? ''), via: bySubject } };
      const byAgent = match(agent);
      if (byAgent) return { reason: 'agent', values: { reason: 'agent', staffId: sid, masked: String(agentMasked(txn) ?? ''), via: byAgent } };
      return null;
    };
  }
  return (txn, ctx): Finding | null => {
    if (!applies(txn)) return null;
    const raw = idOf(txn);
    const lookup = ctx.registry.device;
    if (!lookup || !isPresent(raw)) return null;
    // Only institutions whose devices are filed at all are judged: before a station's devices
    // are imported, every one of its records would otherwise be "unfiled".
    if (ctx.registry.filesDevices && !ctx.registry.filesDevices(txn.institutionId)) return null;
    const deviceId = String(raw);
    const device = lookup.call(ctx.registry, deviceId);
    const status = deviceStatus(device, txn.institutionId, txn.occurredAt);
    if (status === 'ok') return null;
    const values: Record<string, string | number> = { reason: status, deviceId };
    if (device) {
      values.deviceKind = DEVICE_KIND_LABELS[device.kind];
      values.filedInstitution = device.institutionId;
      values.validFrom = ctx.calendar.local(device.validFrom).date;
      values.validTo = device.validTo === null ? '长期' : ctx.calendar.local(device.validTo).date;
      if (device.calibrationValidTo !== undefined) values.calibrationValidTo = ctx.calendar.local(device.calibrationValidTo).date;
    }
    return { reason: status, values };
  };
}
