import { Type } from '@sinclair/typebox';
import { durationSchema, sizeSchema } from './units.js';

/**
 * Durations and sizes as TypeBox schemas, for plugins that write their `configSchema` with
 * TypeBox (then `Static<typeof Schema>` types the config). `@sinclair/typebox` is an optional peer
 * dependency: only this entry point needs it.
 */
export const Duration = (description: string, def?: string) => Type.String(durationSchema(description, def));
export const Size = (description: string, def?: string) => Type.String(sizeSchema(description, def));
