// Placeholder until the `tls` command is built; replaced by its real module.
import type { Command } from './command.js';
import { ErrorCode, MirrorlensError } from '../wire/errors.js';

export const command: Command = {
  summary: 'tls',
  usage: 'mirrorlens tls: not built yet',
  async run() {
    throw new MirrorlensError(ErrorCode.Usage, 'tls: not built yet');
  },
};
