// The fleet link still imports units from here; everything else imports the SDK directly.
export * from '../../../sdk/typescript/units.js';
