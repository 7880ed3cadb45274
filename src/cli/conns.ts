// Placeholder until the `conns` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'conns',
  usage: 'mirrorlens conns: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'conns: not built yet');
  },
};
