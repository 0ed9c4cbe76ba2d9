/**
 * The command registry: one thin module per subcommand. Each declares its flags and, when run,
 * imports the core it needs, so `labup --help` stays fast.
 */
import type { CommandModule } from './main.js';
import * as validate from '../commands/validate.js';
import * as decrypt from '../commands/decrypt.js';
import * as card from '../commands/card.js';
import * as config from '../commands/config.js';
import * as pack from '../commands/pack.js';

export const COMMANDS: CommandModule[] = [validate, card, decrypt, config, pack];
