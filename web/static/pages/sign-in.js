// The sign-in page: shown instead of any page until someone signs in (router.setGate), with one
// button per provider the backend has configured. Signing in re-renders the URL asked for.

import { errorState, emptyState, h, loadingState } from '../dom.js';
import { loadProviders, signIn } from '../identity.js';

const DESCRIPTIONS = {
  guest: 'Browse without an account. What you register is not tied to you.',
  github: 'Sign in with your GitHub account. A GitHub window opens; come back here when it closes.',
};

/** Shown while the session from the last visit is being restored. */
export const pending = {
  mount(main, ctx) {
    ctx.setTitle('Signing in');
    main.setAttribute('aria-busy', 'true');
    main.append(loadingState('Signing in…'));
    return {};
  },
};

/** A failure while restoring the session, shown once on the next mount. */
let startError = null;
export function showStartError(error) {
  startError = error;
}

export function mount(main, ctx) {
  ctx.setTitle('Sign in');
  const status = h('div', { class: 'sign-in__status', 'data-testid': 'sign-in-status' });
  const list = h('ul', { class: 'sign-in__providers', 'aria-label': 'Sign-in providers' });
  main.append(h('div', { class: 'sign-in' },
    h('h1', {}, 'Sign in to Portico'),
    h('p', { class: 'muted' }, 'Choose how to sign in. Portico shows the catalog once you are signed in.'),
    status,
    list));
  if (startError) {
    status.replaceChildren(errorState(startError, null, 'Signing in failed'));
    startError = null;
  }
  let alive = true;

  async function choose(provider, button) {
    for (const b of list.querySelectorAll('button')) b.disabled = true;
    status.replaceChildren(loadingState(provider.id === 'guest' ? 'Signing in…' : `Waiting for ${provider.title}…`));
    try {
      await signIn(provider.id);
      // The app swaps this page for the one asked for (onSessionChange).
    } catch (error) {
      if (!alive) return;
      status.replaceChildren(errorState(error, null, `${provider.title} sign-in failed`));
      for (const b of list.querySelectorAll('button')) b.disabled = false;
      button.focus();
    }
  }

  async function load() {
    list.replaceChildren(h('li', {}, loadingState('Loading sign-in options…')));
    try {
      const { providers } = await loadProviders();
      if (!alive) return;
      if (providers.length === 0) {
        list.replaceChildren(h('li', {}, emptyState('No sign-in providers are configured',
          'An administrator can enable the guest provider (auth.providers.guest) or configure GitHub (auth.providers.github).')));
        return;
      }
      list.replaceChildren(...providers.map((p) => {
        const button = h('button', { type: 'button', class: 'button', 'data-provider': p.id },
          p.id === 'guest' ? 'Enter as guest' : `Sign in with ${p.title}`);
        button.addEventListener('click', () => choose(p, button));
        return h('li', { class: 'sign-in__provider card' },
          h('h2', { class: 'card__title' }, p.title),
          h('p', {}, DESCRIPTIONS[p.id] ?? `Sign in with ${p.title}.`),
          button);
      }));
    } catch (error) {
      if (!alive) return;
      list.replaceChildren(h('li', {}, errorState(error, load, 'The sign-in options could not be loaded')));
    }
  }
  load();

  return {
    unmount() {
      alive = false;
    },
  };
}
