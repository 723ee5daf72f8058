// The catalog: one page of entities at a time (GET /entities/by-query with a cursor), filters
// whose values and counts come from GET /entity-facets, full-text search, and "owned by me".
// Everything the view depends on lives in the query string, so views can be shared and the
// back button works. The whole catalog is never fetched.

import { filterString, getFacets, ownershipRefs, queryEntities } from '../api.js';
import {
  announce, emptyState, errorState, formatNumber, h, isAbort, loadingState, uniqueId,
} from '../dom.js';
import { displayName, entityPathOf, entityPath, humanRef, parseRef } from '../refs.js';

export const PAGE_SIZE = 25;

const FILTERS = [
  { param: 'kind', facet: 'kind', key: 'kind', label: 'Kind', all: 'All kinds' },
  { param: 'type', facet: 'spec.type', key: 'spec.type', label: 'Type', all: 'All types' },
  { param: 'owner', facet: 'relations.ownedBy', key: 'relations.ownedBy', label: 'Owner', all: 'All owners' },
  { param: 'lifecycle', facet: 'spec.lifecycle', key: 'spec.lifecycle', label: 'Lifecycle', all: 'All lifecycles' },
  { param: 'tag', facet: 'metadata.tags', key: 'metadata.tags', label: 'Tag', all: 'All tags' },
  { param: 'namespace', facet: 'metadata.namespace', key: 'metadata.namespace', label: 'Namespace', all: 'All namespaces' },
];

const FIELDS = [
  'kind', 'metadata.namespace', 'metadata.name', 'metadata.title', 'metadata.description',
  'metadata.tags', 'spec.type', 'spec.lifecycle', 'spec.owner', 'spec.profile.displayName',
];
const SEARCH_FIELDS = ['metadata.name', 'metadata.title', 'spec.profile.displayName'];
const ORDER = 'metadata.name,asc';
const SEARCH_DELAY_MS = 300;

function readState(url) {
  const p = url.searchParams;
  const filters = {};
  for (const f of FILTERS) filters[f.param] = p.get(f.param) ?? '';
  return {
    filters,
    q: (p.get('q') ?? '').trim(),
    owned: p.get('owned') === 'mine',
    cursor: p.get('cursor') ?? '',
    page: Math.max(1, Number.parseInt(p.get('page') ?? '1', 10) || 1),
  };
}

export function catalogUrl(state) {
  const p = new URLSearchParams();
  for (const f of FILTERS) if (state.filters?.[f.param]) p.set(f.param, state.filters[f.param]);
  if (state.q) p.set('q', state.q);
  if (state.owned) p.set('owned', 'mine');
  if (state.cursor) {
    p.set('cursor', state.cursor);
    p.set('page', String(state.page ?? 1));
  }
  const qs = p.toString();
  return qs ? `/catalog?${qs}` : '/catalog';
}

function activeFilterCount(state) {
  return FILTERS.filter((f) => state.filters[f.param]).length + (state.owned ? 1 : 0) + (state.q ? 1 : 0);
}

function ownerRefOf(entity) {
  const owner = entity.spec?.owner;
  if (typeof owner !== 'string' || !owner) return null;
  return parseRef(owner, { kind: 'group', namespace: entity.metadata?.namespace });
}

function facetLabel(filter, value) {
  if (filter.param === 'owner') return humanRef(value, 'group');
  return value;
}

export function mount(main, ctx) {
  let state = readState(ctx.url);
  let controller = null;
  let typing = false;
  let searchTimer = null;
  let facetKind = null;
  const facetCache = new Map();

  const searchId = uniqueId('search');
  const searchInput = h('input', {
    id: searchId, type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Name, title or display name', value: state.q,
  });
  const selects = {};
  const filterFields = FILTERS.map((f) => {
    const id = uniqueId(`filter-${f.param}`);
    const select = h('select', { id, name: f.param, 'data-filter': f.param },
      h('option', { value: '' }, f.all));
    selects[f.param] = select;
    select.addEventListener('change', () => go({ ...state, filters: { ...state.filters, [f.param]: select.value } }));
    return h('div', { class: 'field' }, h('label', { for: id }, f.label), select);
  });
  const ownedName = uniqueId('owned');
  const ownedAll = h('input', { type: 'radio', name: ownedName, value: 'all', id: `${ownedName}-all` });
  const ownedMine = h('input', { type: 'radio', name: ownedName, value: 'mine', id: `${ownedName}-mine` });
  for (const radio of [ownedAll, ownedMine]) {
    radio.addEventListener('change', () => go({ ...state, owned: ownedMine.checked }));
  }
  const facetStatus = h('p', { class: 'field-note', role: 'status' });
  const filtersSummary = h('span', { class: 'filters__count' });

  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Catalog filters' },
    h('div', { class: 'field' }, h('label', { for: searchId }, 'Search'), searchInput),
    h('fieldset', { class: 'field field--radios' },
      h('legend', {}, 'Ownership'),
      h('div', { class: 'radio' }, ownedAll, h('label', { for: ownedAll.id }, 'All entities')),
      h('div', { class: 'radio' }, ownedMine, h('label', { for: ownedMine.id }, 'Owned by me or my groups'))),
    ...filterFields,
    facetStatus,
    h('a', { class: 'button button--secondary', href: '/catalog' }, 'Clear all filters'));
  const details = h('details', { class: 'filters-panel' },
    h('summary', {}, 'Filters ', filtersSummary), form);
  if (window.matchMedia('(min-width: 48rem)').matches) details.open = true;

  const summary = h('p', { class: 'results-summary', 'aria-live': 'off' });
  const body = h('div', { class: 'results-body' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pagination' });
  const resultsHeadingId = uniqueId('results');

  main.append(
    h('div', { class: 'page-header' },
      h('div', {},
        h('h1', {}, 'Catalog'),
        h('p', { class: 'muted' }, 'Every component, API, system, group and user Portico knows about.')),
      h('a', { class: 'button', href: '/register' }, 'Register existing component')),
    h('div', { class: 'catalog' },
      h('aside', { class: 'catalog__filters', 'aria-label': 'Filters' }, details),
      h('section', { class: 'catalog__results', 'aria-labelledby': resultsHeadingId },
        h('h2', { class: 'visually-hidden', id: resultsHeadingId }, 'Results'),
        summary, body, pager)),
  );

  function go(next, { replace = false } = {}) {
    ctx.navigate(catalogUrl({ ...next, cursor: '', page: 1 }), { replace });
  }

  function scheduleSearch(immediate) {
    window.clearTimeout(searchTimer);
    const run = () => {
      const q = searchInput.value.trim();
      if (q === state.q) return;
      go({ ...state, q }, { replace: typing });
      typing = true;
    };
    if (immediate) run();
    else searchTimer = window.setTimeout(run, SEARCH_DELAY_MS);
  }
  searchInput.addEventListener('input', () => scheduleSearch(false));
  searchInput.addEventListener('blur', () => { typing = false; });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    scheduleSearch(true);
  });

  function syncControls() {
    // Typing is left alone; a URL change from elsewhere (back, a link) replaces the text.
    if (searchInput.value.trim() !== state.q) {
      searchInput.value = state.q;
      typing = false;
    }
    ownedAll.checked = !state.owned;
    ownedMine.checked = state.owned;
    for (const f of FILTERS) {
      const select = selects[f.param];
      const wanted = state.filters[f.param];
      ensureOption(f, select, wanted);
      const option = [...select.options].find((o) => o.value.toLowerCase() === wanted.toLowerCase());
      select.value = option ? option.value : '';
    }
    const n = activeFilterCount(state);
    filtersSummary.textContent = n ? `(${n} active)` : '';
    ctx.setTitle(state.filters.kind ? `Catalog: ${state.filters.kind}` : 'Catalog');
  }

  /** A value in the URL that the facets do not list (zero matches) still shows as selected. */
  function ensureOption(f, select, value) {
    if (!value) return;
    if ([...select.options].some((o) => o.value.toLowerCase() === value.toLowerCase())) return;
    // Before the facets arrive the count is unknown; after, a value they lack matches nothing.
    select.append(h('option', { value }, facetKind === null ? facetLabel(f, value) : `${facetLabel(f, value)} (0)`));
  }

  function fillSelect(f, values) {
    const select = selects[f.param];
    const sorted = [...values].sort((a, b) => String(a.value).localeCompare(String(b.value)));
    select.replaceChildren(
      h('option', { value: '' }, f.all),
      ...sorted.map((v) => h('option', { value: v.value }, `${facetLabel(f, v.value)} (${formatNumber(v.count)})`)),
    );
    ensureOption(f, select, state.filters[f.param]);
  }

  async function loadFacets(signal) {
    const kind = state.filters.kind.toLowerCase();
    try {
      if (!facetCache.has('*kind')) {
        facetCache.set('*kind', getFacets(['kind']));
      }
      if (!facetCache.has(kind)) {
        const others = FILTERS.filter((f) => f.param !== 'kind').map((f) => f.facet);
        facetCache.set(kind, getFacets(others, { filter: kind ? filterString([['kind', kind]]) : undefined }));
      }
      const [kinds, others] = await Promise.all([facetCache.get('*kind'), facetCache.get(kind)]);
      if (signal.aborted) return;
      facetKind = kind;
      for (const f of FILTERS) {
        const values = f.param === 'kind' ? kinds.kind : others[f.facet];
        fillSelect(f, values ?? []);
      }
      facetStatus.textContent = '';
      syncControls();
    } catch (error) {
      facetCache.delete('*kind');
      facetCache.delete(kind);
      if (isAbort(error) || signal.aborted) return;
      facetStatus.textContent = `Filter values could not be loaded: ${error.message}`;
    }
  }

  async function buildFilter() {
    const pairs = FILTERS
      .filter((f) => f.param !== 'owner' || !state.owned)
      .map((f) => [f.key, state.filters[f.param]]);
    if (state.owned) {
      let refs = await ownershipRefs();
      const owner = state.filters.owner.toLowerCase();
      if (owner) refs = refs.includes(owner) ? [owner] : [];
      if (refs.length === 0) return null;
      for (const r of refs) pairs.push(['relations.ownedBy', r]);
    }
    return filterString(pairs);
  }

  function renderTable(items) {
    const kind = state.filters.kind.toLowerCase();
    const people = kind === 'user' || kind === 'group';
    const columns = [
      { label: 'Name', cell: nameCell },
      !kind && { label: 'Kind', cell: (e) => e.kind },
      kind !== 'user' && { label: 'Type', cell: (e) => e.spec?.type ?? '' },
      !people && { label: 'Owner', cell: ownerCell, cls: 'col-owner' },
      !people && { label: 'Lifecycle', cell: (e) => e.spec?.lifecycle ?? '' },
      { label: 'Tags', cell: tagsCell, optional: true, cls: 'col-tags' },
      { label: 'Description', cell: descriptionCell, optional: true, wide: true },
    ].filter(Boolean);
    const captionId = uniqueId('caption');
    return h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': captionId, tabindex: '0' },
      h('table', { class: 'table', 'data-testid': 'catalog-table' },
        h('caption', { id: captionId, class: 'visually-hidden' }, 'Entities, sorted by name'),
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: columnClass(c) }, c.label)))),
        h('tbody', {}, items.map((e) => h('tr', {}, columns.map((c, i) => (i === 0
          ? h('th', { scope: 'row', class: columnClass(c) }, c.cell(e))
          : h('td', { class: columnClass(c) }, c.cell(e)))))))));
  }

  function columnClass(c) {
    return [c.optional ? 'col-optional' : '', c.wide ? 'col-wide' : '', c.cls ?? ''].join(' ').trim() || null;
  }

  function nameCell(e) {
    const name = displayName(e);
    const ns = e.metadata?.namespace;
    return [
      h('a', { href: entityPathOf(e), class: 'entity-link', 'data-name': e.metadata?.name }, name),
      name !== e.metadata?.name || (ns && ns !== 'default')
        ? h('span', { class: 'subtle' }, humanRef({ kind: undefined, namespace: ns, name: e.metadata?.name }))
        : null,
    ];
  }

  function ownerCell(e) {
    const ref = ownerRefOf(e);
    return ref ? h('a', { href: entityPath(ref) }, humanRef(ref, 'group')) : '';
  }

  function descriptionCell(e) {
    const text = e.metadata?.description;
    return text ? h('span', { class: 'clamp', title: text }, text) : '';
  }

  function tagsCell(e) {
    const tags = Array.isArray(e.metadata?.tags) ? e.metadata.tags : [];
    return tags.length ? h('ul', { class: 'tags' }, tags.map((t) => h('li', { class: 'tag' }, t))) : '';
  }

  function renderPager(page) {
    const total = page.totalItems ?? 0;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const { nextCursor, prevCursor } = page.pageInfo ?? {};
    const prevHref = prevCursor
      ? catalogUrl(state.page - 1 <= 1 ? { ...state, cursor: '', page: 1 } : { ...state, cursor: prevCursor, page: state.page - 1 })
      : null;
    const nextHref = nextCursor ? catalogUrl({ ...state, cursor: nextCursor, page: state.page + 1 }) : null;
    const link = (href, text, rel) => (href
      ? h('a', { class: 'button button--secondary', href, rel }, text)
      : h('span', { class: 'button button--secondary', 'aria-disabled': 'true' }, text));
    pager.replaceChildren(
      link(prevHref, '← Previous', 'prev'),
      h('span', { class: 'pager__position' }, `Page ${formatNumber(Math.min(state.page, pages))} of ${formatNumber(pages)}`),
      link(nextHref, 'Next →', 'next'),
    );
    pager.hidden = total <= PAGE_SIZE && !prevCursor && !nextCursor;
  }

  async function loadResults(signal) {
    const hasTable = body.querySelector('table');
    if (hasTable) body.classList.add('is-loading');
    else body.replaceChildren(loadingState('Loading entities…'));
    body.setAttribute('aria-busy', 'true');
    try {
      const filter = await buildFilter();
      let page;
      if (filter === null) {
        page = { items: [], totalItems: 0, pageInfo: {} };
      } else {
        page = await queryEntities({
          filter: filter || undefined,
          fields: FIELDS,
          limit: PAGE_SIZE,
          orderField: ORDER,
          term: state.q,
          termFields: SEARCH_FIELDS,
          cursor: state.cursor || undefined,
          signal,
        });
      }
      if (signal.aborted) return;
      const total = page.totalItems ?? page.items.length;
      if (page.items.length === 0) {
        const filtered = activeFilterCount(state) > 0;
        summary.textContent = '';
        body.replaceChildren(filtered
          ? emptyState('No entities match these filters.', 'Try a shorter search or fewer filters.',
            h('a', { class: 'button button--secondary', href: '/catalog' }, 'Clear all filters'))
          : emptyState('The catalog is empty.', 'Register a catalog-info.yaml file to add entities.',
            h('a', { class: 'button', href: '/register' }, 'Register existing component')));
        pager.hidden = true;
        announce('No entities found');
      } else {
        const first = (state.page - 1) * PAGE_SIZE + 1;
        const last = first + page.items.length - 1;
        summary.textContent = total > page.items.length
          ? `Showing ${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(total)} entities`
          : `${formatNumber(total)} ${total === 1 ? 'entity' : 'entities'}`;
        summary.dataset.total = String(total);
        body.replaceChildren(renderTable(page.items));
        renderPager(page);
        announce(`${formatNumber(total)} ${total === 1 ? 'entity' : 'entities'} found`);
      }
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      summary.textContent = '';
      pager.hidden = true;
      body.replaceChildren(errorState(error, () => refresh(), 'The catalog could not be loaded'));
    } finally {
      if (!signal.aborted) {
        body.classList.remove('is-loading');
        body.removeAttribute('aria-busy');
      }
    }
  }

  function refresh() {
    controller?.abort();
    controller = new AbortController();
    syncControls();
    if (facetKind !== state.filters.kind.toLowerCase()) loadFacets(controller.signal);
    loadResults(controller.signal);
  }

  refresh();

  return {
    update(next) {
      state = readState(next.url);
      refresh();
    },
    unmount() {
      controller?.abort();
      window.clearTimeout(searchTimer);
    },
  };
}
