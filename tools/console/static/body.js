// A message's body and attributes, as SQS's "poll for messages" shows them: collapsed until opened, the
// body as text (never HTML), indented when it is JSON, cut to what the API sent (tools/ops/body-preview.ts)
// with how much was left out, characters that do not show (bidi overrides, C1 controls, a lone CR, the
// replacement character) marked, and a copy button.
import { dateTime, h } from './dom.js';

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ENDS_LITERAL = new Set([...WHITESPACE, '{', '}', '[', ']', ',', ':', '"']);
// A body nested thousands deep would spend its whole view on spaces.
const MAX_INDENT = 16;

/**
 * Indents JSON text two spaces a level, changing only the whitespace between tokens: numbers, escapes
 * and repeated keys stay as the body has them (JSON.parse then stringify would change them). Works on a
 * body's first bytes too, cut anywhere.
 */
export function indentJson(text) {
  const out = [];
  let depth = 0;
  const newline = () => `\n${'  '.repeat(Math.min(depth, MAX_INDENT))}`;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out.push(text.slice(i, j + 1));
      i = j + 1;
    } else if (c === '{' || c === '[') {
      let k = i + 1;
      while (k < text.length && WHITESPACE.has(text[k])) k++;
      const close = c === '{' ? '}' : ']';
      if (text[k] === close) {
        out.push(c, close);
        i = k + 1;
      } else {
        depth++;
        out.push(c, newline());
        i++;
      }
    } else if (c === '}' || c === ']') {
      depth = Math.max(0, depth - 1);
      out.push(newline(), c);
      i++;
    } else if (c === ',') {
      out.push(',', newline());
      i++;
    } else if (c === ':') {
      out.push(': ');
      i++;
    } else if (WHITESPACE.has(c)) {
      i++;
    } else {
      let j = i;
      while (j < text.length && !ENDS_LITERAL.has(text[j])) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out.join('');
}

// Characters that show as nothing, or reorder what follows, or stand for bytes that were not UTF-8.
const HIDDEN = /\r(?!\n)|[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffd]/g;

export const codePoint = (c) => `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Text as text nodes, each hidden character replaced by a visible mark naming it. */
export function marked(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(HIDDEN)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const name = codePoint(match[0]);
    parts.push(h('span', { class: 'hidden-char', title: name === 'U+FFFD' ? `${name}: bytes that were not valid UTF-8` : name }, name));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function size(bytes) {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KiB`;
}

const more = (bytes) => h('span', { class: 'more-bytes' }, `… ${bytes.toLocaleString('en-US')} more byte${bytes === 1 ? '' : 's'} not shown`);

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without the clipboard API (a page not served from localhost or https): the older way.
    const area = h('textarea', { class: 'copy-buffer', readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand('copy');
    area.remove();
    return done;
  }
}

function copyButton(body) {
  const label = body.moreBytes ? `Copy the ${size(body.bytes - body.moreBytes)} shown` : 'Copy body';
  const button = h('button', { type: 'button', class: 'copy-body', 'data-action': 'copy-body' }, label);
  button.addEventListener('click', async () => {
    // The body as it is (not as indented here), so that it can be sent again.
    const done = await copy(body.text);
    button.textContent = done ? 'Copied' : 'Could not copy: select the text';
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

function attributeList(preview, system) {
  const rows = [
    ...preview.attributes.map((a) => [a.name, h('span', {}, [...marked(a.text), a.moreBytes ? more(a.moreBytes) : null])]),
    ...(system.receiveCount !== undefined ? [['ApproximateReceiveCount', String(system.receiveCount)]] : []),
    ...(system.sentAt ? [['SentTimestamp', `${dateTime(Date.parse(system.sentAt))} (${system.sentAt})`]] : []),
  ];
  if (!rows.length) return h('p', { class: 'muted' }, 'No attributes.');
  return h('dl', { class: 'kv message-attributes' }, rows.flatMap(([name, value]) => [h('dt', { class: 'mono' }, name), h('dd', { class: 'mono' }, value)]));
}

function content(preview, system) {
  const body = preview.body;
  const shown = body.json ? indentJson(body.text) : body.text;
  return [
    h('div', { class: 'body-toolbar' }, [
      h('span', { class: 'muted' }, `${size(body.bytes)}, ${body.json ? 'JSON (indented here)' : 'not JSON (shown as it is)'}`),
      copyButton(body),
    ]),
    h('pre', { class: 'message-body-text', dataset: { format: body.json ? 'json' : 'text' } }, marked(shown)),
    body.moreBytes ? more(body.moreBytes) : null,
    h('h4', {}, 'Attributes'),
    attributeList(preview, system),
  ];
}

/**
 * A message's body and attributes, collapsed behind a toggle (a button, not a <details>: the pages' own
 * <details> and <summary> stay the only ones), built only when first opened, so that a long listing
 * stays quick. `system` holds what SQS says of the message (receiveCount, sentAt).
 */
export function messageBody(preview, system = {}) {
  const body = preview.body;
  const panel = h('div', { class: 'message-body-panel', hidden: true });
  const toggle = h('button', { type: 'button', class: 'body-toggle', 'data-action': 'toggle-body', 'aria-expanded': 'false' }, [
    'Body and attributes ',
    h('span', { class: 'muted' }, `(${size(body.bytes)}${body.json ? ', JSON' : ''}${body.moreBytes ? `, first ${size(body.bytes - body.moreBytes)} shown` : ''})`),
  ]);
  toggle.addEventListener('click', () => {
    const open = panel.hidden;
    if (open && !panel.childElementCount) panel.append(...content(preview, system).filter(Boolean));
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
  });
  return h('div', { class: 'message-body' }, [toggle, panel]);
}
