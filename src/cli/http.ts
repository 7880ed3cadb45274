// Placeholder until the `http` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'http',
  usage: 'mirrorlens http: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'http: not built yet');
  },
};
