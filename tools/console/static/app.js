// The console's router: one page module per hash route; each page renders into <main> and returns a
// function that stops its polling when the page is left.
import { h, stack } from './dom.js';
import * as executions from './executions.js';
import * as execution from './execution.js';
import * as requests from './requests.js';
import * as regions from './regions.js';
import * as deadLetters from './dead-letters.js';

const routes = [
  [/^#?\/?$/, executions, 'executions'],
  [/^#\/executions$/, executions, 'executions'],
  [/^#\/execution\/(.+)$/, execution, 'executions'],
  [/^#\/requests(?:\/(.+))?$/, requests, 'requests'],
  [/^#\/regions$/, regions, 'regions'],
  [/^#\/dead-letters$/, deadLetters, 'dead-letters'],
];

let leave = () => {};

function route() {
  leave();
  const main = document.getElementById('page');
  const hash = location.hash || '#/executions';
  const path = hash.split('?')[0];
  for (const [pattern, page, tab] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.page === tab);
    main.replaceChildren();
    leave = page.render(main, match[1] === undefined ? undefined : decodeURIComponent(match[1])) ?? (() => {});
    return;
  }
  main.replaceChildren(h('p', { class: 'error' }, `No page ${hash}.`));
  leave = () => {};
}

window.addEventListener('hashchange', route);
route();
stack()
  // A deployed stage names itself ("stage dev in us-east-1"), and says when it only reads.
  .then((s) => (document.getElementById('stack').textContent = `${s.source === 'local stack' ? `local stack · stage ${s.stage}` : s.source}${s.readOnly ? ' · read-only' : ''} · ${s.regions.map((r) => r.region).join(', ')}`))
  .catch(() => {});
