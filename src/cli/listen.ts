// Placeholder until the `listen` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'listen',
  usage: 'mirrorlens listen: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'listen: not built yet');
  },
};
