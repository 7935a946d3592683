/** core/sqs-text.ts: what SQS takes in a body or attribute, and cuts that never split a character. */
import { describe, expect, it } from 'vitest';
import { cutChars, cutUtf8, firstRefusedCharacter, isSqsText, sqsText } from '../../core/sqs-text.js';

const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('isSqsText', () => {
  it("follows SQS's set: tab, LF, CR, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF", () => {
    for (const ok of ['plain', 'a\tb\nc\rd', '\u0020', '\uD7FF', '\uE000', '\uFFFD', '😀', '\u{10FFFF}', '']) expect(isSqsText(ok)).toBe(true);
    for (const bad of ['\u0000', '\u0001', '\u001F', '\u000B', '\uFFFE', '\uFFFF', '\uD83D', '\uDE00', 'x\uD83Dy', '\uDE00\uD83D']) expect(isSqsText(bad)).toBe(false);
  });

  it('names the first refused character as SQS does', () => {
    expect(firstRefusedCharacter('ok 😀 \u0007')).toBe('#x7');
    expect(firstRefusedCharacter('half \uD83D')).toBe('#xD83D');
    expect(firstRefusedCharacter('fine')).toBeUndefined();
  });
});

describe('sqsText', () => {
  it('replaces lone surrogates and control characters, keeps emoji', () => {
    expect(sqsText("Unexpected token '\uD83D', \"😀\" is not valid JSON")).toBe("Unexpected token '\uFFFD', \"😀\" is not valid JSON");
    expect(sqsText('a\u0001b\uFFFEc\tok')).toBe('a\uFFFDb\uFFFDc\tok');
  });
});

describe('cutUtf8', () => {
  it('cuts on a character boundary within the byte limit, marked', () => {
    const text = `${'x'.repeat(9)}😀😀😀`; // the limit falls inside the first emoji's 4 bytes
    const cut = cutUtf8(text, 14);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(14);
    expect(cut).toBe(`${'x'.repeat(9)}...`);
    expect(cutUtf8(`${'x'.repeat(7)}😀😀😀`, 14)).toBe(`${'x'.repeat(7)}😀...`);
  });

  it('leaves text that fits alone, except what SQS refuses', () => {
    expect(cutUtf8('short 😀', 100)).toBe('short 😀');
    expect(cutUtf8('half \uD83D', 100)).toBe('half \uFFFD');
  });
});

describe('cutChars', () => {
  it('never keeps half a surrogate pair', () => {
    for (let max = 4; max < 12; max++) {
      const cut = cutChars(`ab${'😀'.repeat(10)}`, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(lone);
    }
  });
});
