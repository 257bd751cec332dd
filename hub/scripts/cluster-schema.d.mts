// Types for cluster-schema.mjs (a plain Node script, run without a build step).
export interface ClusterMigration {
  version: number;
  name: string;
  statements: string[];
}
export declare const MIGRATIONS_DIR: string;
export declare const SCHEMA_FILE: string;
export declare const DEFAULT_DATABASE: string;
export declare class ClusterSchemaError extends Error {
  readonly code: 'CLUSTER_SCHEMA_UNTRANSLATABLE';
  readonly migration: string;
  readonly statement: string;
  readonly reason: string;
}
export declare function readMigrationFiles(dir?: string): ClusterMigration[];
export declare function splitStatements(text: string): string[];
export declare function generateClusterSchema(migrations: readonly ClusterMigration[], options?: { database?: string }): string;
