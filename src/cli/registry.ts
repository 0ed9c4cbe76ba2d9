/**
 * The command registry: one thin module per subcommand. Each declares its flags and, when run,
 * imports the core it needs, so `labup --help` stays fast.
 */
import type { CommandModule } from './main.js';
import * as validate from '../commands/validate.js';
import * as pack from '../commands/pack.js';
import * as upload from '../commands/upload.js';
import * as status from '../commands/status.js';
import * as download from '../commands/download.js';
import * as decrypt from '../commands/decrypt.js';
import * as explain from '../commands/explain.js';
import * as card from '../commands/card.js';
import * as sandbox from '../commands/sandbox.js';
import * as config from '../commands/config.js';
import * as notices from '../commands/notices.js';
import * as contact from '../commands/contact.js';
import * as daily from '../commands/daily.js';
import * as history from '../commands/history.js';
import * as entry from '../commands/entry.js';

export const COMMANDS: CommandModule[] = [daily, validate, pack, upload, status, download, decrypt, explain, history, notices, contact, card, sandbox, config, entry];
