// Placeholder until the `demo` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'demo',
  usage: 'mirrorlens demo: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'demo: not built yet');
  },
};
