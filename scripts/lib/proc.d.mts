// Types for what the TypeScript tests import from proc.mjs.
export function redisPing(port: number): Promise<boolean>;
