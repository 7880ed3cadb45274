// Placeholder until the `follow` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'follow',
  usage: 'mirrorlens follow: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'follow: not built yet');
  },
};
