/**
 * Node's file-system errors in words, for the one line a user sees: never a raw error code.
 */

/** Why a path cannot be opened, in words (no Node error code). */
export function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'ENAMETOOLONG':
      return 'name too long';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'ENXIO':
      return 'cannot be opened for reading (a socket, or a device with nothing behind it)';
    case 'EIO':
      return 'input/output error';
    case 'EEXIST':
      return 'already exists';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return (e as Error)?.message?.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '') ?? String(e);
  }
}
