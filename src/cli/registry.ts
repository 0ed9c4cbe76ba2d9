/**
 * The command registry: one thin module per subcommand. Each declares its flags and, when run,
 * imports the core it needs, so `labup --help` stays fast.
 */
import type { CommandModule } from './main.js';
import * as validate from '../commands/validate.js';
import * as pack from '../commands/pack.js';

export const COMMANDS: CommandModule[] = [validate, pack];
