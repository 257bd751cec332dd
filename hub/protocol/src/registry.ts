/**
 * REST response views of the registry routes (备案管理), shared by the hub (route response
 * schemas, checked under test) and the dashboard (types inferred from them). zod and types only.
 *
 *   GET  /api/v1/registry/{institutions|staff|lines|listings|devices}   RegistryRecordListSchemas[entity]
 *   GET  /api/v1/registry/:entity/:key/versions                          RegistryVersionListSchema
 *   GET  /api/v1/registry/requests                                       RegistryRequestListSchema
 *   GET  /api/v1/registry/requests/:id, POST …/requests, …/approve|reject RegistryRequestSchema
 *   POST /api/v1/registry/imports                                        RegistryImportResultSchema
 *        (422 IMPORT_INVALID: RegistryImportInvalidSchema, the row-by-row report)
 */
import { z } from 'zod';
import { DeviceSchema, InstitutionSchema, ListingSchema, StaffSchema } from '@jianguan/rules';

export const REGISTRY_ENTITIES = ['institution', 'staff', 'line', 'listing', 'device'] as const;
export const RegistryEntitySchema = z.enum(REGISTRY_ENTITIES);
export type RegistryEntity = z.infer<typeof RegistryEntitySchema>;

/** A filed staff member: the rules' Staff plus the pseudonymised identity (never the number itself). */
export const RegistryStaffSchema = StaffSchema.extend({
  /** Keyed hash of the identity number. */
  idHash: z.string().optional(),
  /** Masked display form, e.g. 4512**********123X. */
  idMasked: z.string().optional(),
});

/** An inspection line (检测线) or an exam route (考试路线) with its filed limits. */
export const RegistryLineSchema = z.object({
  id: z.string(),
  institutionId: z.string(),
  kind: z.enum(['inspection_line', 'exam_route']),
  name: z.string(),
  /** Filed minimum duration of one test / exam, seconds. */
  minSeconds: z.number().int().nonnegative(),
  /** Filed daily capacity (tests or exams per day). */
  dailyCapacity: z.number().int().nonnegative(),
  status: z.enum(['active', 'suspended']),
});

/** The record of each entity as the registry holds it. */
export const RegistryRecordSchemas = {
  institution: InstitutionSchema,
  staff: RegistryStaffSchema,
  line: RegistryLineSchema,
  listing: ListingSchema,
  device: DeviceSchema,
} as const;
export type RegistryInstitution = z.infer<typeof InstitutionSchema>;
export type RegistryStaff = z.infer<typeof RegistryStaffSchema>;
export type RegistryLine = z.infer<typeof RegistryLineSchema>;
export type RegistryListing = z.infer<typeof ListingSchema>;
export type RegistryDevice = z.infer<typeof DeviceSchema>;

function recordList<T extends z.ZodType>(record: T) {
  return z.object({
    /** The time asked for (epoch ms); null = the live registry now. */
    asOf: z.number().int().nullable(),
    total: z.number().int().nonnegative(),
    items: z.array(record),
  });
}

/** GET /api/v1/registry/{institutions|staff|lines|listings|devices}: the records in force (now or asOf), in the caller's scope. */
export const RegistryRecordListSchemas = {
  institution: recordList(RegistryRecordSchemas.institution),
  staff: recordList(RegistryRecordSchemas.staff),
  line: recordList(RegistryRecordSchemas.line),
  listing: recordList(RegistryRecordSchemas.listing),
  device: recordList(RegistryRecordSchemas.device),
} as const;
export type RegistryRecordList<E extends RegistryEntity> = z.infer<(typeof RegistryRecordListSchemas)[E]>;

/** One version of a record: valid over [validFrom, validTo), from an approved request. */
export const RegistryVersionSchema = z.object({
  entity: RegistryEntitySchema,
  /** id, or `list:key` for listings. */
  key: z.string(),
  version: z.number().int().positive(),
  validFrom: z.number(),
  /** null = open-ended. */
  validTo: z.number().nullable(),
  retired: z.boolean(),
  /** The record as filed (the entity's record, see RegistryRecordSchemas). */
  data: z.record(z.string(), z.unknown()),
  /** The approved request; 'baseline' for records that predate the versions. */
  requestId: z.string(),
  approvedBy: z.string(),
});
export type RegistryVersion = z.infer<typeof RegistryVersionSchema>;

/** GET /api/v1/registry/:entity/:key/versions: oldest version first. */
export const RegistryVersionListSchema = z.object({ items: z.array(RegistryVersionSchema) });
export type RegistryVersionList = z.infer<typeof RegistryVersionListSchema>;

export const REGISTRY_REQUEST_STATUSES = ['pending', 'approved', 'rejected'] as const;
export const RegistryRequestStatusSchema = z.enum(REGISTRY_REQUEST_STATUSES);
export type RegistryRequestStatus = z.infer<typeof RegistryRequestStatusSchema>;

/** One item of a change request, validated and normalised when it was filed. */
export const RegistryChangeItemSchema = z.object({
  entity: RegistryEntitySchema,
  op: z.enum(['upsert', 'retire']),
  /** id, or `list:key` for listings. */
  key: z.string(),
  /** The record (the entity's record, see RegistryRecordSchemas). */
  data: z.record(z.string(), z.unknown()),
  /** Imported rows: the version's own validity (epoch ms); absent = the request's effectiveFrom or approval. */
  validFrom: z.number().optional(),
  validTo: z.number().nullable().optional(),
  /** In a request's detail: the item's position in the request (0-based), whatever the filter. */
  index: z.number().int().nonnegative().optional(),
  /**
   * In a pending request's detail: the item against the record's version in force now — new (no
   * such record, or a retired one), changed, the same, or a retirement.
   */
  change: z.enum(['new', 'changed', 'same', 'retire']).optional(),
  /** With change 'changed': the fields whose values differ, and the record as it is filed now. */
  changedFields: z.array(z.string()).optional(),
  before: z.record(z.string(), z.unknown()).optional(),
});
export type RegistryChangeItem = z.infer<typeof RegistryChangeItemSchema>;
export const REGISTRY_ITEM_CHANGES = ['new', 'changed', 'same', 'retire'] as const;
export type RegistryItemChange = (typeof REGISTRY_ITEM_CHANGES)[number];

/** A change request (maker-checker): filed by one registry administrator, decided by another. */
export const RegistryRequestSchema = z.object({
  id: z.string(),
  kind: z.enum(['change', 'import']),
  status: RegistryRequestStatusSchema,
  summary: z.string(),
  /** 'api', or `csv:<file>` / `xlsx:<file>` for imports. */
  source: z.string(),
  /**
   * A page of the items in the detail (itemPage says which; an import may hold 50,000 rows);
   * empty in lists (itemCount says how many).
   */
  items: z.array(RegistryChangeItemSchema),
  itemCount: z.number().int().nonnegative(),
  /** Which items `items` holds: from `offset`, at most `limit`, of `total` (after the change filter). */
  itemPage: z
    .object({
      offset: z.number().int().nonnegative(),
      limit: z.number().int().positive(),
      total: z.number().int().nonnegative(),
      /** The kinds of record the whole request holds (one sheet each in …/items.xlsx?entity=). */
      entities: z.array(RegistryEntitySchema),
    })
    .optional(),
  /** A pending request's items counted by their change against the register now. */
  review: z.object({ new: z.number().int().nonnegative(), changed: z.number().int().nonnegative(), same: z.number().int().nonnegative(), retire: z.number().int().nonnegative() }).optional(),
  /** Counties the items touch. */
  counties: z.array(z.string()),
  requestedBy: z.string(),
  requestedAt: z.number(),
  /** '' while pending. */
  decidedBy: z.string(),
  decidedAt: z.number().nullable(),
  decisionComment: z.string(),
  /** From when the versions are valid (epoch ms); null = from the moment of approval. */
  effectiveFrom: z.number().nullable(),
  /** Until when (epoch ms, exclusive); null = open-ended. The filing before answers again from then. */
  effectiveTo: z.number().nullable(),
});
export type RegistryRequest = z.infer<typeof RegistryRequestSchema>;

/** GET /api/v1/registry/requests: newest first. */
export const RegistryRequestListSchema = z.object({ total: z.number().int().nonnegative(), items: z.array(RegistryRequestSchema) });
export type RegistryRequestList = z.infer<typeof RegistryRequestListSchema>;

/** One problem of an import file (row 1 = the header). */
export const RegistryRowErrorSchema = z.object({
  /** 1-based row number in the file, header = row 1. */
  row: z.number().int().positive(),
  /** The field (column) concerned; '' for the whole row or file. */
  field: z.string(),
  message: z.string(),
});
export type RegistryRowError = z.infer<typeof RegistryRowErrorSchema>;

/**
 * The text encodings an uploaded CSV is read in (UTF-8 or UTF-16 by its byte-order mark; without
 * one UTF-8, else GB18030 — Excel's plain CSV on a Chinese Windows).
 */
export const CsvEncodingSchema = z.enum(['utf-8', 'utf-16le', 'utf-16be', 'gb18030']);
export type CsvEncoding = z.infer<typeof CsvEncodingSchema>;

/** POST /api/v1/registry/imports with preview: the file checked as the request would be, nothing stored. */
export const RegistryImportPreviewSchema = z.object({
  preview: z.literal(true),
  entity: RegistryEntitySchema,
  /** Rows in the file (the items are only the first few hundred). */
  total: z.number().int().nonnegative(),
  /** The text encoding a CSV was read in; absent for XLSX. */
  encoding: CsvEncodingSchema.optional(),
  /** The header's row when title rows above it were skipped (absent: row 1). */
  headerRow: z.number().int().min(2).optional(),
  counties: z.array(z.string()),
  items: z.array(
    z.object({
      row: z.number().int().positive(),
      data: z.record(z.string(), z.unknown()),
      /** The version's validity from the row's filing dates; null = the request's (or approval). */
      validFrom: z.number().nullable(),
      validTo: z.number().nullable(),
    }),
  ),
});
export type RegistryImportPreview = z.infer<typeof RegistryImportPreviewSchema>;

/** POST /api/v1/registry/imports: the preview (200), or the pending request it filed (201). */
export const RegistryImportResultSchema = z.union([RegistryImportPreviewSchema, RegistryRequestSchema]);
export type RegistryImportResult = z.infer<typeof RegistryImportResultSchema>;

/** POST /api/v1/registry/imports, 422 IMPORT_INVALID: every problem found; nothing was imported. */
export const RegistryImportInvalidSchema = z.object({
  error: z.object({ code: z.literal('IMPORT_INVALID'), message: z.string() }),
  report: z.array(RegistryRowErrorSchema),
});
export type RegistryImportInvalid = z.infer<typeof RegistryImportInvalidSchema>;
