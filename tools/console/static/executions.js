// Executions: a live list, newest first, searched by part of the name, status and start time, a page at a
// time; polls the API every second. The URL hash keeps the search (a link reproduces it); the cursors of
// the pages before are kept here, for "Newer".
import { api, dateTime, duration, executionHref, fill, h, link, stack } from './dom.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const OUTCOMES = ['dispatched', 'duplicate', 'dead-lettered', 'retry'];
const RANGES = { '15m': ['last 15 min', 15 * 60_000], '1h': ['last 1 h', 3_600_000], '24h': ['last 24 h', 86_400_000] };
const PAGE_SIZES = [10, 25, 50, 100, 250, 1000];
const DEFAULT_LIMIT = '50';

export function outcomePills(counts, failedOver) {
  if (!counts) return h('span', { class: 'muted' }, '…');
  return [
    ...OUTCOMES.filter((o) => counts[o]).map((o) => h('span', { class: `pill ${o}`, title: o }, `${counts[o]} ${o}`)),
    failedOver ? h('span', { class: 'pill failover', title: 'dispatched to another region than first chosen' }, `${failedOver} failed over`) : null,
  ];
}

function row(e) {
  return h('tr', { dataset: { name: e.name, status: e.status } }, [
    h('td', {}, link(executionHref(e.arn), e.name, { class: 'mono' })),
    h('td', {}, h('span', { class: `status status-${e.status}` }, e.status)),
    h('td', {}, dateTime(e.startDate)),
    h('td', { class: 'num' }, duration(e.durationMs)),
    h('td', { class: 'num' }, e.messages),
    h('td', {}, outcomePills(e.counts, e.failedOver)),
  ]);
}

/** The search in the hash: name, status, range (a quick pick, or "custom" with from/to as given), limit. */
function readHash() {
  const p = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const from = p.get('from') ?? '';
  const to = p.get('to') ?? '';
  const range = p.get('range') ?? '';
  return {
    name: p.get('name') ?? '',
    status: p.get('status') ?? '',
    range: range in RANGES ? range : from || to ? 'custom' : '',
    from,
    to,
    limit: p.get('limit') ?? DEFAULT_LIMIT,
  };
}

function hashOf(s) {
  const p = new URLSearchParams();
  if (s.name) p.set('name', s.name);
  if (s.status) p.set('status', s.status);
  if (s.range in RANGES) p.set('range', s.range);
  if (s.range === 'custom' && s.from) p.set('from', s.from);
  if (s.range === 'custom' && s.to) p.set('to', s.to);
  if (s.limit !== DEFAULT_LIMIT) p.set('limit', s.limit);
  const q = p.toString();
  return `#/executions${q ? `?${q}` : ''}`;
}

/** The API query: a quick pick is a window that ends now, computed at each read. */
function apiQuery(s, cursor) {
  const p = new URLSearchParams();
  if (s.name) p.set('name', s.name);
  if (s.status) p.set('status', s.status);
  if (s.range in RANGES) p.set('from', String(Date.now() - RANGES[s.range][1]));
  if (s.range === 'custom' && s.from) p.set('from', s.from);
  if (s.range === 'custom' && s.to) p.set('to', s.to);
  p.set('limit', s.limit);
  if (cursor) p.set('nextToken', cursor);
  return `/api/executions?${p}`;
}

/** A time as given (ISO or epoch ms) to the value of a datetime-local input (local time), or ''. */
function toLocalInput(text) {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** A datetime-local value (local time, no zone) as ISO in UTC, which the API takes. */
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : '');

/** The search in words, for the empty list. */
function described(s) {
  const parts = [];
  if (s.name) parts.push(`name containing “${s.name}”`);
  if (s.status) parts.push(`status ${s.status}`);
  if (s.range in RANGES) parts.push(`started in the ${RANGES[s.range][0]}`);
  if (s.range === 'custom' && s.from) parts.push(`started from ${dateTime(Date.parse(toLocalInput(s.from)))}`);
  if (s.range === 'custom' && s.to) parts.push(`started until ${dateTime(Date.parse(toLocalInput(s.to)))}`);
  return parts.join(', ');
}

const searching = (s) => Boolean(s.name || s.status || s.range in RANGES || (s.range === 'custom' && (s.from || s.to)));

/** What an empty page means: nothing yet, nothing that matches, or nothing after the page before. */
function emptyText(s, data, kept = 'those the local endpoint keeps') {
  if (data.offset > 0) return 'No executions after the page before (those it ended with are gone): “Newest” starts again.';
  if (!searching(s)) return 'No executions yet: send some requests (npm run cli -- send).';
  if (s.status && !s.name && !s.range) {
    return `No ${s.status} execution: none of ${kept} matches the filter (choose “all statuses” to see them all).`;
  }
  return `No execution with ${described(s)}: none of ${kept} (${data.scanned} read) matches the search (“Clear” shows them all).`;
}

/** What the counts count: "51–100 of 347 matching", "of at least 1000" when the read stopped at its cap. */
function countText(s, data) {
  const what = searching(s) ? 'matching' : data.matching === 1 ? 'execution' : 'executions';
  const of = `${data.exact ? '' : 'at least '}${data.matching} ${what}`;
  const shown = data.executions.length
    ? `${data.offset + 1}–${data.offset + data.executions.length} of ${of}`
    : data.matching
      ? `none after the page before, of ${of}`
      : `${data.exact ? '' : 'at least '}0 ${what}`;
  const among = searching(s) ? `, among the ${data.exact ? '' : 'newest '}${data.scanned} kept` : '';
  return `${shown}${among}`;
}

export function render(main) {
  const s = readHash();
  const name = h('input', { type: 'search', name: 'name', 'aria-label': 'name contains', placeholder: 'part of the name', maxlength: 80, value: s.name });
  const status = h('select', { 'aria-label': 'status', name: 'status' }, [h('option', { value: '' }, 'all statuses'), ...STATUSES.map((x) => h('option', { value: x }, x))]);
  const range = h('select', { 'aria-label': 'started', name: 'range' }, [
    h('option', { value: '' }, 'any time'),
    ...Object.entries(RANGES).map(([value, [label]]) => h('option', { value }, label)),
    h('option', { value: 'custom' }, 'between…'),
  ]);
  const from = h('input', { type: 'datetime-local', name: 'from', 'aria-label': 'started from', value: toLocalInput(s.from) });
  const to = h('input', { type: 'datetime-local', name: 'to', 'aria-label': 'started until', value: toLocalInput(s.to) });
  const limits = PAGE_SIZES.map(String).includes(s.limit) ? PAGE_SIZES.map(String) : [...PAGE_SIZES.map(String), s.limit];
  const limit = h('select', { 'aria-label': 'page size', name: 'limit' }, limits.map((n) => h('option', { value: n }, n)));
  status.value = s.status;
  range.value = s.range;
  limit.value = s.limit;
  const between = h('span', { class: 'between' }, [h('label', {}, ['from ', from]), h('label', {}, [' to ', to])]);
  const clear = h('button', { type: 'button', 'data-action': 'clear' }, 'Clear');
  const newest = h('button', { type: 'button', 'data-action': 'newest', title: 'the newest page' }, '« Newest');
  const newer = h('button', { type: 'button', 'data-action': 'previous', title: 'the page before' }, '‹ Newer');
  const older = h('button', { type: 'button', 'data-action': 'next', title: 'the next page' }, 'Older ›');
  const info = h('span', { class: 'muted', id: 'executions-info' });
  const tbody = h('tbody');
  const problem = h('div', { id: 'executions-problem' });
  main.append(
    h('h1', {}, 'Executions'),
    h('form', { class: 'toolbar search', id: 'executions-search', role: 'search' }, [
      h('label', {}, ['Name ', name]),
      h('label', {}, ['Status ', status]),
      h('label', {}, ['Started ', range]),
      between,
      h('label', {}, ['Page size ', limit]),
      clear,
    ]),
    h('div', { class: 'toolbar pager' }, [newest, newer, older, info, h('span', { class: 'muted' }, 'updates every second')]),
    problem,
    h('table', { id: 'executions' }, [
      h('thead', {}, h('tr', {}, ['Name', 'Status', 'Started', 'Duration', 'Messages', 'Outcomes'].map((t, i) => h('th', { class: i === 3 || i === 4 ? 'num' : '' }, t)))),
      tbody,
    ]),
  );

  // cursors[i] opens page i + 1 (the first page has none); the last one is the page shown.
  let cursors = [];
  let next;
  let generation = 0;
  let busy = false;
  let last = '';
  let stopped = false;

  const showControls = () => {
    between.hidden = s.range !== 'custom';
    newest.disabled = cursors.length === 0;
    newer.disabled = cursors.length === 0;
    older.disabled = !next;
  };

  const refresh = async () => {
    const mine = generation;
    busy = true;
    try {
      const [data, served] = await Promise.all([api(apiQuery(s, cursors.at(-1))), stack().catch(() => ({}))]);
      if (stopped || mine !== generation) return;
      fill(problem);
      next = data.nextToken;
      showControls();
      const key = JSON.stringify(data);
      if (key === last) return;
      last = key;
      info.textContent = countText(s, data);
      fill(tbody, data.executions.length ? data.executions.map(row) : h('tr', {}, h('td', { colspan: 6, class: 'muted empty' }, emptyText(s, data, served.executionsKept))));
    } catch (error) {
      if (stopped || mine !== generation) return;
      next = undefined;
      showControls();
      last = '';
      info.textContent = '';
      fill(tbody);
      fill(problem, h('p', { class: 'error' }, error.message));
    } finally {
      if (mine === generation) busy = false;
    }
  };

  /** A new page or search: drop what an older read may still answer, and read now. */
  const go = (newCursors) => {
    cursors = newCursors;
    next = undefined;
    generation += 1;
    last = '';
    showControls();
    refresh();
  };
  /** The search changed: back to the newest page, and into the hash (without a new history entry). */
  const searchChanged = () => {
    history.replaceState(null, '', hashOf(s));
    go([]);
  };

  let typing;
  name.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      s.name = name.value.trim();
      searchChanged();
    }, 250);
  });
  main.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(typing);
    s.name = name.value.trim();
    searchChanged();
  });
  status.addEventListener('change', () => {
    s.status = status.value;
    searchChanged();
  });
  range.addEventListener('change', () => {
    s.range = range.value;
    searchChanged();
  });
  for (const input of [from, to]) {
    input.addEventListener('change', () => {
      s.from = fromLocalInput(from.value);
      s.to = fromLocalInput(to.value);
      searchChanged();
    });
  }
  limit.addEventListener('change', () => {
    s.limit = limit.value;
    searchChanged();
  });
  clear.addEventListener('click', () => {
    Object.assign(s, { name: '', status: '', range: '', from: '', to: '', limit: DEFAULT_LIMIT });
    name.value = from.value = to.value = '';
    status.value = range.value = '';
    limit.value = DEFAULT_LIMIT;
    searchChanged();
  });
  older.addEventListener('click', () => next && go([...cursors, next]));
  newer.addEventListener('click', () => go(cursors.slice(0, -1)));
  newest.addEventListener('click', () => go([]));

  showControls();
  refresh();
  const timer = setInterval(() => busy || refresh(), 1000);
  return () => {
    stopped = true;
    clearTimeout(typing);
    clearInterval(timer);
  };
}
