// Register: paste the URL of a catalog file, analyse it (POST /locations?dryRun=true) to see the
// entities it would add, then import it (POST /locations).

import { addLocation } from '../api.js';
import { announce, errorState, formatNumber, h, isAbort, loadingState, uniqueId } from '../dom.js';
import { entityPath, humanRef } from '../refs.js';

function entityRefOf(e) {
  return { kind: e.kind, namespace: e.metadata?.namespace ?? 'default', name: e.metadata?.name };
}

function entitiesTable(entities, { linked }) {
  const captionId = uniqueId('caption');
  return h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': captionId, tabindex: '0' },
    h('table', { class: 'table', 'data-testid': linked ? 'registered-entities' : 'analysed-entities' },
      h('caption', { id: captionId, class: 'visually-hidden' }, linked ? 'Registered entities' : 'Entities found in the location'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Namespace'))),
      h('tbody', {}, entities.map((e) => {
        const ref = entityRefOf(e);
        return h('tr', {},
          h('th', { scope: 'row' }, linked ? h('a', { href: entityPath(ref) }, ref.name) : ref.name),
          h('td', {}, e.kind),
          h('td', {}, ref.namespace));
      }))));
}

export function mount(main, ctx) {
  ctx.setTitle('Register an existing component');
  let controller = null;
  const inputId = uniqueId('url');
  const hintId = uniqueId('hint');
  const input = h('input', {
    id: inputId, name: 'url', type: 'url', required: true, inputmode: 'url', autocomplete: 'url',
    spellcheck: 'false', placeholder: 'https://github.com/org/repo/blob/main/catalog-info.yaml',
    'aria-describedby': hintId, value: ctx.url.searchParams.get('url') ?? '',
  });
  const analyse = h('button', { type: 'submit', class: 'button' }, 'Analyze');
  const result = h('div', { class: 'register__result', 'aria-live': 'polite' });
  const form = h('form', { class: 'register__form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: inputId }, 'URL of a catalog file'),
      h('p', { class: 'field-note', id: hintId }, 'A catalog-info.yaml (or any catalog file) on a host this Portico may read from.'),
      h('div', { class: 'input-row' }, input, analyse)));

  main.append(
    h('div', { class: 'page-header' }, h('div', {},
      h('h1', {}, 'Register an existing component'),
      h('p', { class: 'muted' }, 'Add the entities of a catalog file to Portico. Portico reads the file again periodically, so later changes show up by themselves.'))),
    h('div', { class: 'register' },
      h('section', { class: 'card', 'aria-labelledby': 'register-step-1' },
        h('h2', { class: 'card__title', id: 'register-step-1' }, '1. Select a URL'),
        form),
      result),
  );

  function setBusy(busy) {
    analyse.disabled = busy;
    input.readOnly = busy;
  }

  async function runAnalysis() {
    const target = input.value.trim();
    if (!target || !input.checkValidity()) {
      result.replaceChildren(errorState(new Error('Enter the full URL of a catalog file, starting with https:// or http://.'), null, 'That is not a URL'));
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    const url = new URL(window.location.href);
    url.searchParams.set('url', target);
    window.history.replaceState(null, '', url.href);
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    setBusy(true);
    result.replaceChildren(loadingState('Analyzing…'));
    try {
      const analysis = await addLocation(target, { dryRun: true, signal });
      if (signal.aborted) return;
      showAnalysis(target, analysis, signal);
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      result.replaceChildren(errorState(error, () => runAnalysis(), 'This URL could not be analyzed'));
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  }

  function showAnalysis(target, analysis, signal) {
    const all = Array.isArray(analysis.entities) ? analysis.entities : [];
    // The Location entity that tracks the file itself is mentioned, not listed.
    const isRoot = (e) => e.kind === 'Location' && (e.spec?.target === target || (e.spec?.targets ?? []).includes(target));
    const entities = all.filter((e) => !isRoot(e));
    const tracked = entities.length < all.length ? ' (plus the Location entity that tracks the file)' : '';
    const importButton = h('button', { type: 'button', class: 'button' }, 'Import');
    const cancel = h('button', { type: 'button', class: 'button button--secondary' }, 'Start over');
    cancel.addEventListener('click', () => {
      result.replaceChildren();
      input.value = '';
      input.focus();
    });
    const id = uniqueId('step');
    const section = h('section', { class: 'card', 'aria-labelledby': id, 'data-testid': 'analysis' },
      h('h2', { class: 'card__title', id, tabindex: '-1' }, '2. Review'),
      analysis.exists
        ? h('p', { class: 'notice' }, 'This location is already registered. Its entities are in the catalog:')
        : h('p', {}, entities.length
          ? `${formatNumber(entities.length)} ${entities.length === 1 ? 'entity' : 'entities'} will be added to the catalog${tracked}:`
          : 'The file was read, but it holds no entities.'),
      entities.length ? entitiesTable(entities, { linked: Boolean(analysis.exists) }) : null,
      h('p', { class: 'actions' }, analysis.exists || entities.length === 0 ? null : importButton, cancel));
    importButton.addEventListener('click', () => runImport(target, entities, importButton, signal));
    result.replaceChildren(section);
    section.querySelector('h2').focus();
    announce(`${entities.length} entities found`);
  }

  async function runImport(target, entities, button, signal) {
    button.disabled = true;
    const status = h('div', {}, loadingState('Importing…'));
    button.closest('section').append(status);
    try {
      const created = await addLocation(target, { signal });
      if (signal.aborted) return;
      const first = entities.find((e) => e.kind === 'Component') ?? entities[0];
      const id = uniqueId('step');
      const done = h('section', { class: 'card card--success', 'aria-labelledby': id, 'data-testid': 'imported' },
        h('h2', { class: 'card__title', id, tabindex: '-1' }, '3. Imported'),
        h('p', {}, `Registered ${created.location?.target ?? target}. `,
          `${formatNumber(entities.length)} ${entities.length === 1 ? 'entity appears' : 'entities appear'} in the catalog once Portico has processed the location, usually within seconds.`),
        entitiesTable(entities, { linked: true }),
        h('p', { class: 'actions' },
          h('a', { class: 'button button--secondary', href: '/register' }, 'Register another'),
          first ? h('a', { class: 'button', href: entityPath(entityRefOf(first)) }, `Open ${humanRef(entityRefOf(first))}`) : null));
      result.replaceChildren(done);
      done.querySelector('h2').focus();
      announce('Location registered');
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      status.replaceChildren(errorState(error, null, 'The location could not be registered'));
      button.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    runAnalysis();
  });
  if (input.value) runAnalysis();

  return {
    unmount() {
      controller?.abort();
    },
  };
}
