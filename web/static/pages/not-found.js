// Any path the app has no page for.

import { h } from '../dom.js';

export function mount(main, ctx) {
  ctx.setTitle('Page not found');
  main.append(
    h('div', { class: 'page-header' }, h('div', {}, h('h1', {}, 'Page not found'))),
    h('div', { class: 'not-found', 'data-testid': 'page-not-found' },
      h('p', {}, `There is no page at ${ctx.url.pathname}.`),
      h('p', { class: 'actions' }, h('a', { class: 'button', href: '/catalog' }, 'Go to the catalog'))),
  );
  return {};
}
