/**
 * Transaction volumes of one institution by business type for a month (业务量按业务类型), as served
 * by GET /api/v1/evaluation/institutions/:id/volumes and drawn on the institution page.
 *
 * A business type is the pair (kind, ywlx): the same letter means different business for a
 * vehicle and a licence (B 转移登记 vs B 增驾), so the code alone is not a key.
 */
import { z } from 'zod';

export const VolumeRowSchema = z.object({
  /** `${kind}:${ywlx}`, stable key for the row. */
  key: z.string(),
  kind: z.string(),
  /** Business code (YWLX, exam subject …); '' when the source sent none. */
  ywlx: z.string(),
  /** Chinese label, e.g. 机动车业务·转移登记. */
  label: z.string(),
  transactions: z.number().int().nonnegative(),
  /** Transactions that raised at least one warning. */
  warned: z.number().int().nonnegative(),
  /** warned / transactions; null when there were none. */
  warningRate: z.number().min(0).max(1).nullable(),
  /** The same institution's count for this business type in the previous month. */
  previous: z.number().int().nonnegative(),
  /**
   * Mean count for this business type over the peers (other institutions of the same type in the
   * reader's scope, zeros included); null when there are no peers.
   */
  peerMean: z.number().nonnegative().nullable(),
});
export type VolumeRow = z.infer<typeof VolumeRowSchema>;

export const InstitutionVolumesSchema = z.object({
  institutionId: z.string(),
  month: z.string(),
  previousMonth: z.string(),
  /** Totals over all business types. */
  total: z.object({ transactions: z.number().int(), warned: z.number().int(), previous: z.number().int() }),
  peers: z.object({
    /** Institution type the peers share. */
    type: z.string(),
    /** How many peers the mean is taken over. */
    count: z.number().int().nonnegative(),
    /** County the peers were limited to (the reader's scope); null = the whole city. */
    county: z.string().nullable(),
  }),
  /** Largest volume first. */
  items: z.array(VolumeRowSchema),
});
export type InstitutionVolumes = z.infer<typeof InstitutionVolumesSchema>;
