// Placeholder until the `logs` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'logs',
  usage: 'mirrorlens logs: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'logs: not built yet');
  },
};
