// Placeholder until the `analyze` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'analyze',
  usage: 'mirrorlens analyze: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'analyze: not built yet');
  },
};
