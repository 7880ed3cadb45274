// Placeholder until the `lab` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'lab',
  usage: 'mirrorlens lab: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'lab: not built yet');
  },
};
