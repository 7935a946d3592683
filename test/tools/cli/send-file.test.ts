/** `send --file`: which lines are sent, which are skipped, and what the user is told about each. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bodiesFromFile, fileSummary, linesToSend } from '../../../tools/cli/commands/send.js';

const VALID = JSON.stringify({ request_id: 'req-file-1', model_name: 'm', input_data_url: 's3://b/k' });
const VALID_2 = JSON.stringify({ request_id: 'req-file-2', model_name: 'm', input_data_url: 's3://b/k' });
const utf8 = (text: string) => Buffer.from(text, 'utf8');

describe('linesToSend', () => {
  it('sends valid lines as they are, without a word', () => {
    const spaced = ` ${VALID_2.replace(':', ' : ')} `;
    expect(linesToSend(utf8(`${VALID}\n${spaced}\n`))).toEqual({ bodies: [VALID, spaced], warnings: [], skipped: {}, invalid: 0 });
  });

  it('skips blank lines, naming each with its line number, and counts them', () => {
    const read = linesToSend(utf8(`${VALID}\n\n   \n\t\n${VALID_2}\n`));
    expect(read.bodies).toEqual([VALID, VALID_2]);
    expect(read.warnings).toEqual(['line 2: blank: skipped', 'line 3: blank: skipped', 'line 4: blank: skipped']);
    expect(read.skipped).toEqual({ blank: 3 });
  });

  it('sends a line that is not a valid request, warning that the dispatch DLQ will hold it', () => {
    const read = linesToSend(utf8(`${VALID}\nnot json\n{"request_id":"r"}\n`));
    expect(read.bodies).toEqual([VALID, 'not json', '{"request_id":"r"}']);
    expect(read.invalid).toBe(2);
    expect(read.warnings[0]).toMatch(/^line 2: not a valid request \(body is not JSON: .*\): sent anyway, expect it in the dispatch DLQ$/);
    expect(read.warnings[1]).toBe(
      'line 3: not a valid request (model_name is required; input_data_url is required): sent anyway, expect it in the dispatch DLQ',
    );
    expect(read.skipped).toEqual({});
  });

  it('skips a line that is not UTF-8, which no SQS body can hold', () => {
    const bytes = Buffer.concat([utf8(`${VALID}\n{"note":"`), Buffer.from([0xc3, 0x28]), utf8('"}\n')]);
    const read = linesToSend(bytes);
    expect(read.bodies).toEqual([VALID]);
    expect(read.warnings).toEqual(['line 2: not valid UTF-8 (an SQS body is text): skipped']);
    expect(read.skipped).toEqual({ 'not UTF-8': 1 });
  });

  it('skips a line holding a character SQS refuses, saying which and where', () => {
    const read = linesToSend(utf8(`{"a":"x\u0001"}\n${VALID}`));
    expect(read.bodies).toEqual([VALID]);
    expect(read.warnings).toEqual(['line 1: holds U+0001 at column 8, which SQS does not accept in a message body: skipped']);
    expect(read.skipped).toEqual({ unsendable: 1 });
  });

  it('reads CRLF files, a last line without a newline, and drops the BOM of the file but not a BOM on a later line', () => {
    const read = linesToSend(utf8(`\uFEFF${VALID}\r\n\uFEFF${VALID_2}`));
    expect(read.bodies).toEqual([VALID, `\uFEFF${VALID_2}`]);
    expect(read.warnings[0]).toMatch(/^line 1: byte-order mark at the start of the file removed/);
    expect(read.warnings[1]).toMatch(/^line 2: not a valid request \(body starts with a byte-order mark/);
  });

  it('sends nothing from an empty file', () => {
    expect(linesToSend(utf8(''))).toEqual({ bodies: [], warnings: [], skipped: {}, invalid: 0 });
  });
});

describe('fileSummary', () => {
  it('counts lines sent, invalid ones among them, and skipped ones by kind', () => {
    const read = linesToSend(utf8(`${VALID}\n\nnot json\n\n{"a":"\u0002"}\n`));
    expect(fileSummary('r.jsonl', read)).toBe(
      'r.jsonl: 2 line(s) sent (1 not valid, expect them in the dispatch DLQ), 3 skipped (2 blank, 1 unsendable)',
    );
    expect(fileSummary('r.jsonl', linesToSend(utf8(VALID)))).toBe('r.jsonl: 1 line(s) sent, 0 skipped');
  });
});

describe('bodiesFromFile', () => {
  it('reads the file as bytes and names a file it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'send-file-'));
    const file = join(dir, 'r.jsonl');
    writeFileSync(file, Buffer.concat([utf8(`${VALID}\n`), Buffer.from([0xff]), utf8('\n')]));
    expect(bodiesFromFile(file).skipped).toEqual({ 'not UTF-8': 1 });
    expect(() => bodiesFromFile(join(dir, 'missing.jsonl'))).toThrow(/^cannot read .*missing\.jsonl: ENOENT/);
  });
});
