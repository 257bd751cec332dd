/**
 * REST response views of the office routes, shared by the hub (route response schemas, checked
 * under test) and the dashboard (types inferred from them). zod and types only.
 */
import { z } from 'zod';

/** Placeholder so the module is never empty while its views are being declared. */
export const OFFICE_VIEWS_VERSION = 1;
void z;
