import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandCaptureInputs, fileProblem } from './inputs.js';
import { MirrorlensError } from '../wire/errors.js';

function tree(files: string[]): string {
  const d = mkdtempSync(join(tmpdir(), 'ml-inputs-'));
  for (const f of files) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), '');
  }
  return d;
}

test('a listen directory expands to its rotated files in time order, other files and dot-files left out', async () => {
  const d = tree([
    'mirrorlens-20261125T203518.123Z.pcapng',
    'mirrorlens-20261125T203418.999Z.pcapng',
    'mirrorlens-20261125T203518.123Z-1.pcapng',
    '.mirrorlens-20261125T203318.000Z.pcapng',
    'keys.log',
    'README',
  ]);
  try {
    assert.deepEqual(await expandCaptureInputs([d]), [
      join(d, 'mirrorlens-20261125T203418.999Z.pcapng'),
      join(d, 'mirrorlens-20261125T203518.123Z-1.pcapng'),
      join(d, 'mirrorlens-20261125T203518.123Z.pcapng'),
    ]);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test("tcpdump -C's numbered files come in numeric order; subdirectories are walked; .gz kept", async () => {
  const d = tree(['cap.pcap', 'cap.pcap10', 'cap.pcap2', 'cap.pcap1', 'day2/a.cap.gz', 'day1/b.PCAPNG']);
  try {
    const got = (await expandCaptureInputs([d])).map((p) => p.slice(d.length + 1));
    assert.deepEqual(got, ['cap.pcap', 'cap.pcap1', 'cap.pcap2', 'cap.pcap10', 'day1/b.PCAPNG', 'day2/a.cap.gz']);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('a quoted glob expands; arguments keep their order; a file named twice is read once; - stays', async () => {
  const d = tree(['a-2.pcapng', 'a-10.pcapng', 'a-1.pcapng', 'b.pcap']);
  try {
    const got = await expandCaptureInputs([join(d, 'b.pcap'), join(d, 'a-*.pcapng'), join(d, 'b.pcap'), '-']);
    assert.deepEqual(got, [join(d, 'b.pcap'), join(d, 'a-1.pcapng'), join(d, 'a-2.pcapng'), join(d, 'a-10.pcapng'), '-']);
    // A file given by name is taken whatever its name.
    assert.deepEqual(await expandCaptureInputs([join(d, 'a-1.pcapng')]), [join(d, 'a-1.pcapng')]);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('nothing there, a glob matching nothing, a directory without captures: one error naming the argument', async () => {
  const d = tree(['notes.txt']);
  try {
    const cases: Array<[string, RegExp]> = [
      [join(d, 'missing.pcap'), /missing\.pcap: cannot open: no such file or directory$/],
      [join(d, 'x-*.pcap'), /x-\*\.pcap: no file matches this pattern$/],
      [d, /: directory holds no capture file/],
    ];
    for (const [arg, re] of cases) {
      await assert.rejects(expandCaptureInputs([arg]), (e: unknown) => e instanceof MirrorlensError && re.test(e.describe()));
    }
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('file problems in words, never a Node error code', () => {
  const e = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' });
  assert.equal(fileProblem(e), 'permission denied');
  const other = Object.assign(new Error("EWEIRD: something odd, open '/x'"), { code: 'EWEIRD' });
  assert.equal(fileProblem(other), 'something odd');
});
