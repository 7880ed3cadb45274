/**
 * Lets processes in a lab network namespace reach a server on this namespace's loopback: a TCP
 * port on the namespace's own 127.0.0.1 piped, through a Unix socket (file system, not network
 * namespaced), to the server's port here. Both ends are plain byte pipes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

const NS_SIDE = `
const net = require('node:net');
const [port, sock] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(Number(port), '127.0.0.1', () => console.log('bridge ready'));
`;

export class NsBridge {
  private server: Server | null = null;
  private child: ChildProcess | null = null;
  private readonly open = new Set<Socket>();
  readonly sock: string;

  constructor(
    dir: string,
    private readonly targetPort: number,
  ) {
    this.sock = join(dir, `bridge-${process.pid}.sock`);
  }

  /** Starts the local end, then the namespace end on `nsPort` inside `ns`. */
  async start(ns: string, nsPort: number): Promise<void> {
    if (!this.server) {
      this.server = createServer((c) => {
        const u = connect(this.targetPort, '127.0.0.1');
        this.open.add(c).add(u);
        c.once('close', () => this.open.delete(c));
        u.once('close', () => this.open.delete(u));
        c.pipe(u);
        u.pipe(c);
        c.on('error', () => u.destroy());
        u.on('error', () => c.destroy());
      });
      await new Promise<void>((r) => this.server!.listen(this.sock, () => r()));
    }
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', NS_SIDE, String(nsPort), this.sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`namespace bridge did not start: ${out}`)), 10_000);
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('bridge ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      child.once('exit', (c) => {
        clearTimeout(t);
        reject(new Error(`namespace bridge exited (${c}): ${out}`));
      });
    });
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null) {
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    // close() waits for every piped connection to end: end them (a half-open one would wait forever).
    for (const s of this.open) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }
}
