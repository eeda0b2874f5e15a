#!/usr/bin/env node
// Compiles the backworks.yaml validator once, at build time, into
// dist/service/src/config/config-validator.cjs (ajv's standalone code). Compiling the schema with
// ajv took about 200 ms of every start on a gateway; the service loads this file instead
// (service/src/config/validate.ts) and compiles at run time only when running from sources.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/service/src/config');
const { ConfigSchema } = await import(path.join(dist, 'schema.js'));
const { AJV_OPTIONS, PRECOMPILED_FILE } = await import(path.join(dist, 'validate.js'));

const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
fs.writeFileSync(path.join(dist, PRECOMPILED_FILE), standaloneCode.default(ajv, ajv.compile(ConfigSchema)));
