// Portico's web app: the route table, the navigation, and who is signed in (the sign-in page
// stands in for every page until someone is).

import { getEntityByRef } from './api.js';
import { h } from './dom.js';
import { currentIdentity, onSessionChange, restoreSession, signOut } from './identity.js';
import { entityPath, humanRef, parseRef } from './refs.js';
import { render, setGate, setRoutes, start } from './router.js';
import * as catalogPage from './pages/catalog.js';
import * as entityPage from './pages/entity.js';
import * as notFoundPage from './pages/not-found.js';
import * as registerPage from './pages/register.js';
import * as signInPage from './pages/sign-in.js';

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

let identityRender = 0;

/** The header's corner: who is signed in (linked to their entity) and a sign-out button. */
async function renderIdentity() {
  const slot = document.getElementById('identity');
  const render = ++identityRender;
  const identity = currentIdentity();
  if (!identity) {
    slot.replaceChildren(h('span', { class: 'identity__link', 'data-testid': 'identity' },
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
  if (render !== identityRender) return; // Signed out or in again meanwhile.
  const label = name || (identity.provider === 'guest' ? 'Guest' : humanRef(ref, 'user'));
  const initial = (label[0] ?? '?').toUpperCase();
  const content = [
    // No profile picture: it would come from another origin, which the CSP keeps out.
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, initial),
    h('span', { class: 'identity__text' }, h('span', { class: 'visually-hidden' }, 'Signed in as '), label),
  ];
  const signOutButton = h('button', { type: 'button', class: 'identity__sign-out', 'data-testid': 'sign-out' }, 'Sign out');
  signOutButton.addEventListener('click', () => {
    signOutButton.disabled = true;
    signOut();
  });
  slot.replaceChildren(
    exists
      ? h('a', { class: 'identity__link', href: entityPath(ref), 'data-testid': 'identity' }, content)
      : h('span', { class: 'identity__link', 'data-testid': 'identity' }, content),
    signOutButton,
  );
}

// Sign-in and sign-out swap the sign-in page and the page the URL names; a token refresh
// of the same user changes nothing on screen.
let shownUser;
onSessionChange((session) => {
  const user = session ? `${session.provider} ${session.userEntityRef}` : null;
  if (user === shownUser) return;
  const first = shownUser === undefined;
  shownUser = user;
  setGate(session ? null : signInPage);
  renderIdentity();
  render({ moveFocus: !first });
});

renderNav();
setRoutes(ROUTES, notFoundPage, (url) => updateNav(url));
setGate(signInPage.pending);
start();
restoreSession().catch((error) => {
  signInPage.showStartError(error);
  shownUser = undefined;
  setGate(signInPage);
  renderIdentity();
  render();
});
