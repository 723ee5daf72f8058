// The catalog: one page of entities at a time (GET /entities/by-query with a cursor), filters
// whose values and counts come from GET /entity-facets, full-text search, column sorting on the
// server (orderField), and "owned by me". Kind is one choice, as in Backstage; the other filters
// take several values (OR within a filter, AND across filters). Everything the view depends on
// lives in the query string, so views can be shared and the back button works. The whole
// catalog is never fetched.

import { filterString, getFacets, ownershipRefs, queryEntities } from '../api.js';
import {
  announce, emptyState, errorState, formatNumber, h, isAbort, loadingState, uniqueId,
} from '../dom.js';
import { displayName, entityPathOf, entityPath, humanRef, parseRef } from '../refs.js';

export const PAGE_SIZE = 25;

const KIND = { param: 'kind', facet: 'kind', key: 'kind', label: 'Kind', all: 'All kinds' };
/** The multi-value filters: `param` in the URL (repeated), `key` in the API's filter. */
const FILTERS = [
  { param: 'type', facet: 'spec.type', key: 'spec.type', label: 'Type' },
  { param: 'owner', facet: 'relations.ownedBy', key: 'relations.ownedBy', label: 'Owner' },
  { param: 'lifecycle', facet: 'spec.lifecycle', key: 'spec.lifecycle', label: 'Lifecycle' },
  { param: 'tag', facet: 'metadata.tags', key: 'metadata.tags', label: 'Tag' },
  { param: 'namespace', facet: 'metadata.namespace', key: 'metadata.namespace', label: 'Namespace' },
];
/** Longer value lists get a box that narrows them. */
const NARROW_AT = 8;

/** Sortable columns and the field the server sorts by. */
const SORTS = {
  name: { field: 'metadata.name', label: 'Name' },
  kind: { field: 'kind', label: 'Kind' },
  type: { field: 'spec.type', label: 'Type' },
  owner: { field: 'relations.ownedBy', label: 'Owner' },
  lifecycle: { field: 'spec.lifecycle', label: 'Lifecycle' },
};
const DEFAULT_SORT = 'name';

const FIELDS = [
  'kind', 'metadata.namespace', 'metadata.name', 'metadata.title', 'metadata.description',
  'metadata.tags', 'spec.type', 'spec.lifecycle', 'spec.owner', 'spec.profile.displayName',
];
const SEARCH_FIELDS = ['metadata.name', 'metadata.title', 'spec.profile.displayName'];
const SEARCH_DELAY_MS = 300;

function unique(values) {
  const seen = new Set();
  return values.filter((v) => {
    const key = v.toLowerCase();
    if (!v || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function readState(url) {
  const p = url.searchParams;
  const filters = {};
  for (const f of FILTERS) filters[f.param] = unique(p.getAll(f.param).map((v) => v.trim()));
  const sort = Object.hasOwn(SORTS, p.get('sort') ?? '') ? p.get('sort') : DEFAULT_SORT;
  return {
    kind: (p.get('kind') ?? '').trim(),
    filters,
    q: (p.get('q') ?? '').trim(),
    owned: p.get('owned') === 'mine',
    sort,
    desc: p.get('order') === 'desc',
    cursor: p.get('cursor') ?? '',
    page: Math.max(1, Number.parseInt(p.get('page') ?? '1', 10) || 1),
  };
}

export function catalogUrl(state) {
  const p = new URLSearchParams();
  if (state.kind) p.set('kind', state.kind);
  for (const f of FILTERS) for (const v of state.filters?.[f.param] ?? []) p.append(f.param, v);
  if (state.q) p.set('q', state.q);
  if (state.owned) p.set('owned', 'mine');
  if (state.sort && state.sort !== DEFAULT_SORT) p.set('sort', state.sort);
  if (state.desc) p.set('order', 'desc');
  if (state.cursor) {
    p.set('cursor', state.cursor);
    p.set('page', String(state.page ?? 1));
  }
  const qs = p.toString();
  return qs ? `/catalog?${qs}` : '/catalog';
}

function activeFilterCount(state) {
  return FILTERS.filter((f) => state.filters[f.param].length).length
    + (state.kind ? 1 : 0) + (state.owned ? 1 : 0) + (state.q ? 1 : 0);
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
  /** The sort button to focus again once the re-sorted table replaces the old one. */
  let refocusSort = null;
  const facetCache = new Map();
  /** Facet values per filter, as last loaded: [{value, count}]. */
  const facetValues = {};

  const searchId = uniqueId('search');
  const searchInput = h('input', {
    id: searchId, type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Name, title or display name', value: state.q,
  });
  const kindId = uniqueId('filter-kind');
  const kindSelect = h('select', { id: kindId, name: 'kind', 'data-filter': 'kind' }, h('option', { value: '' }, KIND.all));
  kindSelect.addEventListener('change', () => go({ ...state, kind: kindSelect.value }));

  // One disclosure per multi-value filter: its summary says what is chosen, its checkboxes
  // carry the facet counts.
  const multi = {};
  const multiFields = FILTERS.map((f) => {
    const chosen = h('span', { class: 'multi__chosen' });
    const options = h('div', { class: 'multi__options', role: 'group', 'aria-label': `${f.label} values` });
    const narrowId = uniqueId(`narrow-${f.param}`);
    const narrow = h('input', {
      id: narrowId, type: 'search', class: 'multi__narrow', autocomplete: 'off', 'data-narrow': f.param,
      placeholder: `Find a ${f.label.toLowerCase()}`,
    });
    const narrowField = h('div', { class: 'multi__narrow-field' },
      h('label', { for: narrowId, class: 'visually-hidden' }, `Find ${f.label.toLowerCase()} values`), narrow);
    narrow.addEventListener('input', () => applyNarrow(f));
    options.addEventListener('change', (event) => {
      if (!(event.target instanceof HTMLInputElement)) return;
      const values = [...options.querySelectorAll('input:checked')].map((i) => i.value);
      go({ ...state, filters: { ...state.filters, [f.param]: values } });
    });
    const details = h('details', { class: 'multi', 'data-filter': f.param },
      h('summary', {}, h('span', { class: 'multi__label' }, f.label), chosen),
      h('fieldset', { class: 'multi__body' },
        h('legend', { class: 'visually-hidden' }, f.label), narrowField, options));
    multi[f.param] = { details, chosen, options, narrow, narrowField };
    return details;
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
    h('div', { class: 'field' }, h('label', { for: kindId }, KIND.label), kindSelect),
    ...multiFields,
    facetStatus,
    h('a', { class: 'button button--secondary', href: '/catalog' }, 'Clear all filters'));
  const details = h('details', { class: 'filters-panel' },
    h('summary', {}, 'Filters ', filtersSummary), form);
  if (window.matchMedia('(min-width: 48rem)').matches) details.open = true;

  const summary = h('p', { class: 'results-summary', 'aria-live': 'off' });
  const sortNote = h('p', { class: 'field-note sort-note' });
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
        summary, sortNote, body, pager)),
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
    ensureKindOption(state.kind);
    const kindOption = [...kindSelect.options].find((o) => o.value.toLowerCase() === state.kind.toLowerCase());
    kindSelect.value = kindOption ? kindOption.value : '';
    for (const f of FILTERS) renderOptions(f);
    const n = activeFilterCount(state);
    filtersSummary.textContent = n ? `(${n} active)` : '';
    ctx.setTitle(state.kind ? `Catalog: ${state.kind}` : 'Catalog');
  }

  /** A kind in the URL that the facets do not list (zero matches) still shows as selected. */
  function ensureKindOption(value) {
    if (!value || [...kindSelect.options].some((o) => o.value.toLowerCase() === value.toLowerCase())) return;
    // Before the facets arrive the count is unknown; after, a value they lack matches nothing.
    kindSelect.append(h('option', { value }, facetKind === null ? value : `${value} (0)`));
  }

  function fillKinds(values) {
    const sorted = [...values].sort((a, b) => String(a.value).localeCompare(String(b.value)));
    kindSelect.replaceChildren(h('option', { value: '' }, KIND.all),
      ...sorted.map((v) => h('option', { value: v.value }, `${v.value} (${formatNumber(v.count)})`)));
  }

  /** The checkboxes of one filter: the facet values, plus chosen values the facets lack. */
  function renderOptions(f) {
    const { details: d, chosen, options, narrowField } = multi[f.param];
    const selected = state.filters[f.param];
    const isSelected = (v) => selected.some((s) => s.toLowerCase() === String(v).toLowerCase());
    const values = [...(facetValues[f.param] ?? [])];
    for (const v of selected) {
      if (!values.some((x) => String(x.value).toLowerCase() === v.toLowerCase())) {
        values.push({ value: v, count: facetKind === null ? null : 0 });
      }
    }
    values.sort((a, b) => String(a.value).localeCompare(String(b.value)));
    // Focus survives the rebuild, so ticking boxes with the keyboard keeps its place.
    const focused = options.contains(document.activeElement) ? document.activeElement.value : null;
    options.replaceChildren(...(values.length
      ? values.map((v) => {
        const id = uniqueId(`opt-${f.param}`);
        return h('div', { class: 'check', 'data-value': String(v.value).toLowerCase() },
          h('input', { type: 'checkbox', id, name: f.param, value: v.value, checked: isSelected(v.value) }),
          h('label', { for: id }, facetLabel(f, v.value),
            v.count === null ? null : h('span', { class: 'check__count' }, ` (${formatNumber(v.count)})`)));
      })
      : [h('p', { class: 'field-note' }, facetKind === null ? 'Loading…' : `No ${f.label.toLowerCase()} values here.`)]));
    if (focused !== null) [...options.querySelectorAll('input')].find((i) => i.value === focused)?.focus();
    narrowField.hidden = values.length < NARROW_AT;
    applyNarrow(f);
    chosen.textContent = selected.length ? selected.map((v) => facetLabel(f, v)).join(', ') : 'Any';
    chosen.title = chosen.textContent;
    if (selected.length && !d.dataset.touched) d.open = true;
  }

  function applyNarrow(f) {
    const { options, narrow } = multi[f.param];
    const text = narrow.value.trim().toLowerCase();
    for (const row of options.querySelectorAll('.check')) {
      // Chosen values stay visible, so narrowing never hides what is filtering the table.
      row.hidden = !!text && !row.dataset.value.includes(text) && !row.querySelector('input').checked;
    }
  }
  for (const f of FILTERS) {
    multi[f.param].details.addEventListener('toggle', (e) => { e.currentTarget.dataset.touched = 'true'; });
  }

  async function loadFacets(signal) {
    const kind = state.kind.toLowerCase();
    try {
      if (!facetCache.has('*kind')) {
        facetCache.set('*kind', getFacets(['kind']));
      }
      if (!facetCache.has(kind)) {
        // Counts within the chosen kind, as Backstage's pickers show them.
        facetCache.set(kind, getFacets(FILTERS.map((f) => f.facet), { filter: kind ? filterString([['kind', kind]]) : undefined }));
      }
      const [kinds, others] = await Promise.all([facetCache.get('*kind'), facetCache.get(kind)]);
      if (signal.aborted) return;
      facetKind = kind;
      fillKinds(kinds.kind ?? []);
      for (const f of FILTERS) facetValues[f.param] = others[f.facet] ?? [];
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
    const pairs = [[KIND.key, state.kind]];
    for (const f of FILTERS) {
      if (f.param === 'owner' && state.owned) continue;
      for (const v of state.filters[f.param]) pairs.push([f.key, v]);
    }
    if (state.owned) {
      let refs = await ownershipRefs();
      // "Mine" and chosen owners: the owners that are both.
      const owners = state.filters.owner.map((o) => o.toLowerCase());
      if (owners.length) refs = refs.filter((r) => owners.includes(r));
      if (refs.length === 0) return null;
      for (const r of refs) pairs.push(['relations.ownedBy', r]);
    }
    return filterString(pairs);
  }

  function sortHeader(c) {
    if (!c.sort) return h('th', { scope: 'col', class: columnClass(c) }, c.label);
    const active = state.sort === c.sort;
    const next = { ...state, sort: c.sort, desc: active ? !state.desc : false };
    const button = h('button', {
      type: 'button', class: 'sort', 'data-sort': c.sort,
      title: `Sort by ${c.label.toLowerCase()}, ${next.desc ? 'descending' : 'ascending'}`,
    }, c.label, h('span', { class: 'sort__arrow', 'aria-hidden': 'true' }, active ? (state.desc ? '▼' : '▲') : '↕'));
    button.addEventListener('click', () => {
      refocusSort = c.sort;
      go(next);
    });
    return h('th', { scope: 'col', class: columnClass(c), 'aria-sort': active ? (state.desc ? 'descending' : 'ascending') : null }, button);
  }

  function renderTable(items) {
    const kind = state.kind.toLowerCase();
    const people = kind === 'user' || kind === 'group';
    const columns = [
      { label: 'Name', cell: nameCell, sort: 'name' },
      !kind && { label: 'Kind', cell: (e) => e.kind, sort: 'kind' },
      kind !== 'user' && { label: 'Type', cell: (e) => e.spec?.type ?? '', sort: 'type' },
      !people && { label: 'Owner', cell: ownerCell, cls: 'col-owner', sort: 'owner' },
      !people && { label: 'Lifecycle', cell: (e) => e.spec?.lifecycle ?? '', sort: 'lifecycle' },
      { label: 'Tags', cell: tagsCell, optional: true, cls: 'col-tags' },
      { label: 'Description', cell: descriptionCell, optional: true, wide: true },
    ].filter(Boolean);
    const captionId = uniqueId('caption');
    const sorted = `sorted by ${SORTS[state.sort].label.toLowerCase()}${state.desc ? ', descending' : ''}`;
    return h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': captionId, tabindex: '0' },
      h('table', { class: 'table', 'data-testid': 'catalog-table' },
        h('caption', { id: captionId, class: 'visually-hidden' }, `Entities, ${sorted}`),
        h('thead', {}, h('tr', {}, columns.map(sortHeader))),
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
          orderField: `${SORTS[state.sort].field},${state.desc ? 'desc' : 'asc'}`,
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
        summary.dataset.total = '0';
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
        if (refocusSort) body.querySelector(`button[data-sort="${refocusSort}"]`)?.focus();
        refocusSort = null;
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
    // The server lists only entities that have the sort field (see the README).
    const { field, label } = SORTS[state.sort];
    sortNote.textContent = ['metadata.name', 'kind'].includes(field)
      ? '' : `Sorted by ${label.toLowerCase()}: entities without one are not listed.`;
    if (facetKind !== state.kind.toLowerCase()) loadFacets(controller.signal);
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
