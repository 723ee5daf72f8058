// Portico's web app: the route table, the navigation and who is signed in.

import { getEntityByRef } from './api.js';
import { h } from './dom.js';
import { currentIdentity } from './identity.js';
import { entityPath, humanRef, parseRef } from './refs.js';
import { setRoutes, start } from './router.js';
import * as catalogPage from './pages/catalog.js';
import * as entityPage from './pages/entity.js';
import * as notFoundPage from './pages/not-found.js';
import * as registerPage from './pages/register.js';

const ROUTES = [
  { name: 'catalog', pattern: /^\/catalog\/?$/, page: catalogPage },
  { name: 'entity', pattern: /^\/catalog\/([^/]+)\/([^/]+)\/([^/]+)\/?$/, keys: ['namespace', 'kind', 'name'], page: entityPage },
  { name: 'register', pattern: /^\/register\/?$/, page: registerPage },
  // The scaffolder's pages (/create, /create/tasks/:id) go here when it exists.
];

// Main navigation. `match` decides which item is the current page. Templates and tasks join
// this list with the scaffolder.
const NAV = [
  { label: 'Catalog', href: '/catalog', match: (url) => url.pathname.startsWith('/catalog') && !isShortcut(url) },
  { label: 'APIs', href: '/catalog?kind=api', match: (url) => isShortcut(url) === 'api' },
  { label: 'Groups', href: '/catalog?kind=group', match: (url) => isShortcut(url) === 'group' },
  { label: 'Register', href: '/register', match: (url) => url.pathname.startsWith('/register') },
];

function isShortcut(url) {
  if (url.pathname !== '/catalog' && url.pathname !== '/catalog/') return null;
  const kind = (url.searchParams.get('kind') ?? '').toLowerCase();
  return ['api', 'group'].includes(kind) ? kind : null;
}

function renderNav() {
  const list = document.getElementById('nav-links');
  list.replaceChildren(...NAV.map((item) => h('li', {}, h('a', { href: item.href, 'data-nav': item.label }, item.label))));
}

function updateNav(url) {
  for (const [i, link] of [...document.querySelectorAll('#nav-links a')].entries()) {
    if (NAV[i]?.match(url)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function renderIdentity() {
  const slot = document.getElementById('identity');
  let identity;
  try {
    identity = await currentIdentity();
  } catch (error) {
    slot.replaceChildren(h('span', { class: 'identity__link', 'data-testid': 'identity', title: error.message },
      h('span', { class: 'avatar avatar--none', 'aria-hidden': 'true' }, '?'), 'Not signed in'));
    return;
  }
  const ref = parseRef(identity.userEntityRef, { kind: 'user' });
  let name = identity.profile?.displayName || '';
  let exists = false;
  try {
    const user = await getEntityByRef(ref);
    if (user) {
      exists = true;
      name ||= user.spec?.profile?.displayName || user.metadata?.title || '';
    }
  } catch {
    // The header still names the identity without its entity.
  }
  const label = name || (identity.isGuest ? 'Guest' : humanRef(ref, 'user'));
  const initial = (label[0] ?? '?').toUpperCase();
  const content = [
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, initial),
    h('span', { class: 'identity__text' }, h('span', { class: 'visually-hidden' }, 'Signed in as '), label),
  ];
  slot.replaceChildren(exists
    ? h('a', { class: 'identity__link', href: entityPath(ref), 'data-testid': 'identity' }, content)
    : h('span', { class: 'identity__link', 'data-testid': 'identity' }, content));
}

renderNav();
setRoutes(ROUTES, notFoundPage, (url) => updateNav(url));
start();
renderIdentity();

