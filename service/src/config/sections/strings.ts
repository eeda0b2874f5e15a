// Sections import Duration and Size from here, not from schema.ts, to avoid an import cycle.
export { Duration, Size } from '../../../../sdk/typescript/typebox.js';
