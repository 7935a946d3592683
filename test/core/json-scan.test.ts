/** core/json-scan.ts: depth, longest number and top-level members of JSON text, in one pass without parsing. */
import { describe, expect, it } from 'vitest';
import { scanJson } from '../../core/json-scan.js';

describe('scanJson', () => {
  it('counts nesting of arrays and objects, the outermost being level 1, and names the top-level key holding it', () => {
    expect(scanJson('{}').depth).toBe(1);
    expect(scanJson('"text"').depth).toBe(0);
    expect(scanJson('{"a":1,"b":{"c":[[1]]},"d":[]}')).toMatchObject({ depth: 4, depthKey: '"b"' });
    // The first member to reach the deepest level names it.
    expect(scanJson('{"a":[[]],"b":[[]]}')).toMatchObject({ depth: 3, depthKey: '"a"' });
  });

  it('names no key when the depth is the body itself', () => {
    expect(scanJson('[[[[]]]]')).toMatchObject({ depth: 4, depthKey: undefined });
    expect(scanJson('{"a":1}')).toMatchObject({ depth: 1, depthKey: undefined });
  });

  it('ignores brackets, quotes and digits inside strings, escapes included', () => {
    const scan = scanJson(String.raw`{"k":"[[{\"12345\\","n":[1]}`);
    expect(scan.depth).toBe(2);
    expect(scan.depthKey).toBe('"n"');
    expect(scan.longestNumber).toBe(1);
  });

  it('measures the longest number and the key it sits under', () => {
    expect(scanJson('{"a":12,"b":{"c":-1.5e+300}}')).toMatchObject({ longestNumber: 9, numberKey: '"b"' });
    expect(scanJson('123456')).toMatchObject({ longestNumber: 6, numberKey: undefined });
  });

  it('lists the top-level members in order, duplicates included, with raw keys and trimmed raw values', () => {
    expect(scanJson('{ "a" : 1 , "b":{"a":2,"c":[3,4]}, "a\\u0062":"x,y", "a":null }').members).toEqual([
      { rawKey: '"a"', rawValue: '1' },
      { rawKey: '"b"', rawValue: '{"a":2,"c":[3,4]}' },
      { rawKey: '"a\\u0062"', rawValue: '"x,y"' },
      { rawKey: '"a"', rawValue: 'null' },
    ]);
  });

  it('lists no members for a top-level array, even of strings that look like keys', () => {
    expect(scanJson('["a", "b", {"c": 1}]').members).toEqual([]);
  });

  it('survives text that is not JSON, unbalanced or unterminated', () => {
    for (const text of ['', ']]]]', '}{', '{"a', '"\\', '{"a":[1,', '\u0000\uFEFF']) expect(() => scanJson(text)).not.toThrow();
    expect(scanJson(']]][[').depth).toBe(2);
    expect(scanJson('{"a":[').depth).toBe(2);
  });

  it('scans a megabyte of brackets in one loop', () => {
    expect(scanJson('['.repeat(1 << 20)).depth).toBe(1 << 20);
  });
});
