import { z } from 'zod';
import { BusinessHoursSchema } from './business-hours.js';

export const InstitutionType = z.enum([
  'vehicle_office', // 车管所
  'vehicle_office_branch', // 车管分所
  'registration_station', // 机动车登记服务站
  'dealer', // 汽车销售企业 / 4S
  'inspection_station', // 机动车检验机构
  'driving_school', // 驾校
  'exam_venue', // 考场
  'hospital', // 医院 / 体检机构
  'post_office', // 邮政
]);
export type InstitutionType = z.infer<typeof InstitutionType>;

export const INSTITUTION_TYPE_LABELS: Readonly<Record<InstitutionType, string>> = {
  vehicle_office: '车管所',
  vehicle_office_branch: '车管分所',
  registration_station: '机动车登记服务站',
  dealer: '汽车销售企业',
  inspection_station: '机动车检验机构',
  driving_school: '驾校',
  exam_venue: '考场',
  hospital: '体检医院',
  post_office: '邮政网点',
};

export const InstitutionSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().min(1),
  type: InstitutionType,
  /** County adcode, e.g. 451202. */
  county: z.string().regex(/^\d{6}$/),
  /**
   * OPTIONAL. Where the institution is on the wall's map (WGS84 degrees), both or neither. A
   * register without coordinates still files; the wall draws such an institution at its county
   * seat and says its place is not filed.
   */
  lon: z.number().min(-180).max(180).optional(),
  lat: z.number().min(-90).max(90).optional(),
  status: z.enum(['active', 'suspended']).default('active'),
  /**
   * OPTIONAL. The institution's own filed business hours (营业时间): when present, "was this
   * working time?" for its business is answered by them rather than by its type's or the city's
   * hours. Filed as words in a spreadsheet (business-hours.ts reads them).
   */
  hours: BusinessHoursSchema.optional(),
  /**
   * OPTIONAL. Under closer checks (加强抽查), the consequence of a C quarterly grade, filed for a
   * term: a sample of its business is drawn for verification (counter.spot_check). Absent = no.
   */
  closerChecks: z.boolean().optional(),
}).refine((i) => (i.lon === undefined) === (i.lat === undefined), { message: '经度和纬度须同时填写（或都不填）', path: ['lat'] });
export type Institution = z.infer<typeof InstitutionSchema>;

export const StaffRole = z.enum(['clerk', 'inspector', 'examiner', 'doctor', 'agent']);
export type StaffRole = z.infer<typeof StaffRole>;

export const STAFF_ROLE_LABELS: Readonly<Record<StaffRole, string>> = {
  clerk: '业务员',
  inspector: '查验员',
  examiner: '考试员',
  doctor: '体检医生',
  agent: '代办人',
};

export const StaffSchema = z.object({
  id: z.string().min(1).max(64),
  institutionId: z.string().min(1),
  role: StaffRole,
  /** Display name (may be a masked form). */
  name: z.string().default(''),
  /** Whether the filing (备案) was approved. */
  filed: z.boolean(),
  /** Filing validity, epoch milliseconds; validTo null = open-ended. */
  validFrom: z.number().int(),
  validTo: z.number().int().nullable(),
  /**
   * OPTIONAL. Licence classes (准驾车型) an examiner is permitted to examine. Absent = not
   * recorded, so exam.examiner_unfiled does not judge classes for this person.
   */
  classes: z.array(z.string().max(8)).optional(),
  /**
   * OPTIONAL. Keyed hash of the staff member's identity number (same key as the transactions'
   * person hashes; never the number itself). Feeds that name the clerk by user code only
   * (VEH_FLOW/DRV_FLOW JBR) reach the person through this: counter.self_dealing compares it with
   * the applicant's and agent's hashes as of the record's time.
   */
  idHash: z.string().regex(/^[0-9a-f]{16,128}$/).optional(),
});
export type Staff = z.infer<typeof StaffSchema>;

/**
 * Devices (设备) filed with an institution: inspection instruments and line equipment, check
 * cameras, counter PCs, exam vehicles. Business on a device that is not filed, not valid, filed
 * for another institution or past its calibration (检定/校准) is an anomaly (domain.md §6).
 */
export const DeviceKind = z.enum(['inspection_instrument', 'line_equipment', 'check_camera', 'counter_pc', 'exam_vehicle']);
export type DeviceKind = z.infer<typeof DeviceKind>;

export const DEVICE_KIND_LABELS: Readonly<Record<DeviceKind, string>> = {
  inspection_instrument: '检测仪器',
  line_equipment: '检测线设备',
  check_camera: '查验摄像设备',
  counter_pc: '窗口计算机',
  exam_vehicle: '考试车辆',
};

export const DeviceSchema = z.object({
  /** The code the feeds send as deviceId (工位设备编号, 考试车号, 终端编号). */
  id: z.string().min(1).max(64),
  institutionId: z.string().min(1).max(64),
  kind: DeviceKind,
  name: z.string().max(64).default(''),
  /** OPTIONAL. Inspection line (检测线) or check lane / counter window the device belongs to. */
  lineId: z.string().max(64).optional(),
  filed: z.boolean(),
  /** Filing validity, epoch ms; validTo null = open-ended. */
  validFrom: z.number().int(),
  validTo: z.number().int().nullable(),
  /** OPTIONAL. Calibration (检定/校准) valid until, epoch ms; absent = not subject to calibration. */
  calibrationValidTo: z.number().int().optional(),
});
export type Device = z.infer<typeof DeviceSchema>;

export type DeviceStatus = 'ok' | 'not_found' | 'not_approved' | 'other_institution' | 'not_yet_valid' | 'expired' | 'calibration_expired';

/** Why a device may (not) be used by `institutionId` at `at`; checks in order, 'ok' when all pass. */
export function deviceStatus(device: Device | undefined, institutionId: string, at: number): DeviceStatus {
  if (!device) return 'not_found';
  if (!device.filed) return 'not_approved';
  if (device.institutionId !== institutionId) return 'other_institution';
  if (at < device.validFrom) return 'not_yet_valid';
  if (device.validTo !== null && at > device.validTo) return 'expired';
  if (device.calibrationValidTo !== undefined && at > device.calibrationValidTo) return 'calibration_expired';
  return 'ok';
}

/**
 * Lists kept beside the registry (domain.md §5): the person black list (申请人/代办人黑名单),
 * the agent red list (代办人红名单, tied to an organisation with a scope) and the vehicle-check
 * VIN black list. Keys are the same keyed hashes the transactions carry (a VIN for the VIN list).
 */
export const ListName = z.enum(['person_black', 'agent_red', 'vin_check_black']);
export type ListName = z.infer<typeof ListName>;

export const LIST_LABELS: Readonly<Record<ListName, string>> = {
  person_black: '黑名单',
  agent_red: '代办人红名单',
  vin_check_black: '查验黑名单',
};

export const ListingSchema = z.object({
  list: ListName,
  /** idHash for person lists, VIN for the check black list. */
  key: z.string().min(1),
  /** Red list: the organisation (institution id) the agent is authorised for. */
  organisationId: z.string().optional(),
  /** Red list: 'own_org' = may act only at/for organisationId; 'any' = anywhere. */
  scope: z.enum(['any', 'own_org']).default('any'),
  /** Validity, epoch ms; absent = from the start / open-ended. */
  validFrom: z.number().int().optional(),
  validTo: z.number().int().nullable().optional(),
  /** Reason or note shown in explanations (no personal data). */
  note: z.string().max(60).default(''),
});
export type Listing = z.infer<typeof ListingSchema>;

/** Is a listing in force at `at`? */
export function listingValidAt(l: Listing, at: number): boolean {
  if (l.validFrom !== undefined && at < l.validFrom) return false;
  return l.validTo === undefined || l.validTo === null || at <= l.validTo;
}

/**
 * A read-only view of the registry as it stood at a point in time. Rules receive this; the hub
 * implements it from ClickHouse-backed caches, tests from plain arrays.
 */
export interface RegistryView {
  institution(id: string): Institution | undefined;
  staff(id: string): Staff | undefined;
  /**
   * OPTIONAL. The listing of `key` on `list`, if any (in force or not; rules check validity).
   * A registry without it makes list rules (agent.blacklisted, agent.red_list_outside_org,
   * check.vin_blacklisted) skip, never fail.
   */
  listing?(list: ListName, key: string): Listing | undefined;
  /**
   * OPTIONAL. The device `id` as filed. A registry without it makes device rules skip.
   */
  device?(id: string): Device | undefined;
  /**
   * OPTIONAL. Whether any device of `institutionId` is filed at all: device rules judge only
   * institutions whose devices have been filed, so a detachment that has not yet imported its
   * devices is not flooded with "unfiled device" warnings.
   */
  filesDevices?(institutionId: string): boolean;
}

/** Is a staff member filed for `role` and valid at `at` (epoch ms)? */
export function isFiledAt(staff: Staff | undefined, role: StaffRole, at: number): boolean {
  if (!staff || !staff.filed || staff.role !== role) return false;
  if (at < staff.validFrom) return false;
  return staff.validTo === null || at <= staff.validTo;
}

/**
 * Why a staff member is (not) filed for `role` at `at`. Checks run in the same order as
 * `isFiledAt`, and `filingStatus(...) === 'ok'` exactly when `isFiledAt(...)` is true; the
 * registry rule uses this to explain *which* condition failed.
 */
export type FilingStatus = 'ok' | 'not_found' | 'not_approved' | 'wrong_role' | 'not_yet_valid' | 'expired';

export function filingStatus(staff: Staff | undefined, role: StaffRole, at: number): FilingStatus {
  if (!staff) return 'not_found';
  if (!staff.filed) return 'not_approved';
  if (staff.role !== role) return 'wrong_role';
  if (at < staff.validFrom) return 'not_yet_valid';
  if (staff.validTo !== null && at > staff.validTo) return 'expired';
  return 'ok';
}

/**
 * A registry view over in-memory arrays (tests, fixtures, the hub's cache). With several listings
 * of one key on one list, the last one given wins.
 */
export function createRegistryView(
  institutions: readonly Institution[],
  staff: readonly Staff[],
  listings: readonly Listing[] = [],
  devices: readonly Device[] = [],
): RegistryView {
  const inst = new Map(institutions.map((i) => [i.id, i]));
  const st = new Map(staff.map((s) => [s.id, s]));
  // List → key → listing: a lookup (on every record for the black-list rules) reads two maps
  // instead of building and hashing a joined string of the list name and a 64-digit hash.
  const lists = new Map<string, Map<string, Listing>>();
  for (const l of listings) {
    let byKey = lists.get(l.list);
    if (!byKey) lists.set(l.list, (byKey = new Map()));
    byKey.set(l.key, l);
  }
  const dev = new Map(devices.map((d) => [d.id, d]));
  const withDevices = new Set(devices.map((d) => d.institutionId));
  return {
    institution: (id) => inst.get(id),
    staff: (id) => st.get(id),
    listing: (list, key) => lists.get(list)?.get(key),
    device: (id) => dev.get(id),
    filesDevices: (id) => withDevices.has(id),
  };
}
