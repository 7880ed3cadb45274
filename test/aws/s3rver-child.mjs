// Runs s3rver (an S3-compatible server for tests) on a free loopback port in a process of its own
// and prints {"port":N} once listening. s3rver's continuation tokens use DES, which OpenSSL 3 keeps
// in its legacy provider: the parent starts this file with --openssl-legacy-provider.
// Usage: node --openssl-legacy-provider s3rver-child.mjs DATA_DIR
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

// s3rver 3.7.1 answers a delimited listing without the common prefixes of keys nested two or more
// folders below the prefix (its directory walk stops at the first folder: prefix a/ with only
// a/b/c/key yields no a/b/), where S3 returns a/b/. Keys are listed in full here and grouped by
// the delimiter as S3 does; pages still hold at most maxKeys keys.
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const delimiter = options.delimiter ?? '';
  if (delimiter === '') return listObjects.call(this, bucket, options);
  const prefix = options.prefix ?? '';
  const all = await listObjects.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity });
  const commonPrefixes = new Set();
  const objects = [];
  let isTruncated = false;
  for (const o of all.objects) {
    const idx = o.key.slice(prefix.length).indexOf(delimiter);
    if (idx !== -1) commonPrefixes.add(o.key.slice(0, prefix.length + idx + delimiter.length));
    else if (objects.length < (options.maxKeys ?? Infinity)) objects.push(o);
    else {
      isTruncated = true;
      break;
    }
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
};

const server = new S3rver({ port: 0, address: '127.0.0.1', directory: process.argv[2], silent: true });
const info = await server.run();
process.stdout.write(JSON.stringify({ port: info.port }) + '\n');
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop); // the parent went away
process.stdin.resume();
