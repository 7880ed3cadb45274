// Placeholder until the `read` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'read',
  usage: 'mirrorlens read: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'read: not built yet');
  },
};
