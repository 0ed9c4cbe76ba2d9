#!/usr/bin/env node
// Writes schema/lab-daily.xsd from the 表一 table (run `npm run build` first; `npm run gen` does both).
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildXsd } from '../dist/format/xsd.js';
import { configSchema } from '../dist/config/schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'schema/lab-daily.xsd'), buildXsd());
writeFileSync(join(root, 'schema/config.schema.json'), JSON.stringify(configSchema, null, 2) + '\n');
process.stderr.write('wrote schema/lab-daily.xsd, schema/config.schema.json\n');
