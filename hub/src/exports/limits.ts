/**
 * The limits of table imports and exports, taken from the hub configuration (hub/src/config.ts,
 * JG_IMPORT_* / JG_EXPORT_* / JG_TABLE_*). Plain data, so they can be posted to a worker thread.
 */
import type { HubConfig } from '../config.js';

export interface ImportLimits {
  /** Bytes of the uploaded file. */
  maxBytes: number;
  /** Bytes all parts of an XLSX may inflate to. */
  maxUnzippedBytes: number;
  /** Data rows, header excluded. */
  maxRows: number;
  maxColumns: number;
  /** Characters in one cell. */
  maxCellChars: number;
}

export interface TableLimits {
  import: ImportLimits;
  /** Rows × columns of one XLSX export. */
  exportMaxXlsxCells: number;
  jobsPerUser: number;
  jobsTotal: number;
  workers: number;
}

export function tableLimitsOf(config: HubConfig): TableLimits {
  return {
    import: {
      maxBytes: config.importMaxBytes,
      maxUnzippedBytes: config.importMaxUnzippedBytes,
      maxRows: config.importMaxRows,
      maxColumns: config.importMaxColumns,
      maxCellChars: config.importMaxCellChars,
    },
    exportMaxXlsxCells: config.exportMaxXlsxCells,
    jobsPerUser: config.tableJobsPerUser,
    jobsTotal: config.tableJobsTotal,
    workers: config.tableWorkers,
  };
}
