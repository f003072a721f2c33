// strata studio: one page over the JSON API. No framework, no build step.
// Every value from the database reaches the page through textContent or
// an attribute, never through innerHTML.
'use strict';

const state = { schema: null, grid: null };

// ---------- helpers ----------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || 'HTTP ' + status);
    this.status = status;
    this.body = body || {};
  }
}

async function api(path, body) {
  const init = body === undefined
    ? { credentials: 'same-origin' }
    : { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { message: 'the studio did not answer (is `strata studio` still running?)' });
  }
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new ApiError(response.status, json && json.error ? json.error : { message: text || ('HTTP ' + response.status) });
  return json;
}

// An error as the database (or the studio) reported it.
function errorBox(error, cls) {
  const b = error.body || { message: String(error.message || error) };
  return h('div', { class: 'error ' + (cls || ''), role: 'alert' },
    h('strong', {}, b.message || 'error'),
    b.code ? h('span', { class: 'code' }, '  SQLSTATE ' + b.code) : null,
    b.detail ? h('div', {}, 'Detail: ' + b.detail) : null,
    b.hint ? h('div', {}, 'Hint: ' + b.hint) : null,
    b.position ? h('div', {}, 'At character ' + b.position) : null);
}

function bytes(n) {
  if (n === null || n === undefined || n < 0) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + units[i];
}

function count(n) {
  if (n === null || n === undefined || n < 0) return '–';
  return Number(n).toLocaleString('en-US');
}

const qname = (schema, name) => schema + '.' + name;
const tableHref = (schema, name, tab) =>
  '#/' + (tab || 'data') + '/' + encodeURIComponent(schema) + '/' + encodeURIComponent(name);

function findRelation(schema, name) {
  const sc = state.schema;
  return sc.tables.find(t => t.name.schema === schema && t.name.name === name)
    || sc.views.find(v => v.name.schema === schema && v.name.name === name);
}

// In-page confirmation: resolves true on Confirm, false on Cancel/Escape.
function confirmDialog(title, body) {
  const modal = document.getElementById('modal');
  document.getElementById('modal-title').textContent = title;
  const content = document.getElementById('modal-body');
  content.replaceChildren(...(Array.isArray(body) ? body : [body]));
  modal.hidden = false;
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  ok.focus();
  return new Promise(resolve => {
    const done = value => {
      modal.hidden = true;
      ok.onclick = cancel.onclick = null;
      document.removeEventListener('keydown', onKey);
      resolve(value);
    };
    const onKey = e => { if (e.key === 'Escape') done(false); };
    ok.onclick = () => done(true);
    cancel.onclick = () => done(false);
    document.addEventListener('keydown', onKey);
  });
}

// replaceChildren without the nulls of optional parts.
function fill(el, ...children) { el.replaceChildren(...children.flat().filter(c => c !== null && c !== undefined && c !== false)); }

function show(text) { return text === null ? 'NULL' : text; }

// ---------- schema and navigation ----------

async function loadSchema(refresh) {
  state.schema = await api('/api/schema' + (refresh ? '?refresh=1' : ''));
  const sc = state.schema;
  document.getElementById('database').textContent = sc.database;
  document.getElementById('read-only-badge').hidden = !sc.read_only;
  document.getElementById('nav-migrations').hidden = !sc.migrations;
  renderSidebar();
}

function renderSidebar() {
  const filter = document.getElementById('sidebar-filter').value.toLowerCase();
  const list = document.getElementById('sidebar-list');
  const items = [];
  const add = (label, rels) => {
    const shown = rels.filter(r => qname(r.name.schema, r.name.name).toLowerCase().includes(filter));
    if (!shown.length) return;
    items.push(h('li', { class: 'group' }, label));
    for (const r of shown) {
      const label = r.name.schema === 'public' ? r.name.name : qname(r.name.schema, r.name.name);
      items.push(h('li', {}, h('a', {
        href: tableHref(r.name.schema, r.name.name),
        class: 'table-link',
        dataset: { table: qname(r.name.schema, r.name.name) },
        title: qname(r.name.schema, r.name.name),
      }, label)));
    }
  };
  add('Tables', state.schema.tables);
  add('Views', state.schema.views);
  list.replaceChildren(...items);
  markActive();
}

function markActive() {
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('#top nav a')) {
    const target = a.getAttribute('href');
    a.classList.toggle('active', target === '#/' ? !/^#\/(diagram|sql|migrations)/.test(hash) : hash.startsWith(target));
  }
  const m = hash.match(/^#\/(?:data|structure|relations)\/([^/]+)\/([^?]+)/);
  const current = m ? qname(decodeURIComponent(m[1]), decodeURIComponent(m[2])) : null;
  for (const a of document.querySelectorAll('#sidebar-list a')) a.classList.toggle('active', a.dataset.table === current);
}

async function route() {
  markActive();
  const main = document.getElementById('main');
  const hash = location.hash || '#/';
  const [path, query] = hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  try {
    if (!state.schema) await loadSchema(false);
    if (parts.length === 0) return renderTables(main);
    if (parts[0] === 'diagram') return renderDiagram(main);
    if (parts[0] === 'sql') return renderConsole(main);
    if (parts[0] === 'migrations') return renderMigrations(main);
    if (['data', 'structure', 'relations'].includes(parts[0]) && parts.length === 3) {
      const rel = findRelation(parts[1], parts[2]);
      if (!rel) {
        fill(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no table or view ' + qname(parts[1], parts[2]) + '. Reload the schema if it was just created.'));
        return;
      }
      return renderRelation(main, rel, parts[0], params);
    }
    fill(main, h('h1', {}, 'Not found'));
  } catch (e) {
    fill(main, errorBox(e));
  }
}

// ---------- tables list ----------

function renderTables(main) {
  const sc = state.schema;
  const rows = sc.tables.map(t => h('tr', {},
    h('td', {}, h('a', { href: tableHref(t.name.schema, t.name.name), class: 'table-link', dataset: { table: qname(t.name.schema, t.name.name) } }, qname(t.name.schema, t.name.name))),
    h('td', {}, t.partition_key ? 'partitioned table' : t.partition_of ? 'partition' : 'table'),
    h('td', { class: 'num' }, count(t.stats ? t.stats.rows_estimate : null)),
    h('td', { class: 'num' }, bytes(t.stats ? t.stats.total_bytes : null)),
    h('td', {}, t.columns.length),
    h('td', {}, t.key === 'primary-key' ? 'primary key' : t.key === 'ctid' ? 'none (ctid)' : 'none'),
    h('td', {}, h('a', { href: tableHref(t.name.schema, t.name.name, 'structure') }, 'structure'), ' · ',
      h('a', { href: tableHref(t.name.schema, t.name.name, 'relations') }, 'relations'))));
  const views = sc.views.map(v => h('tr', {},
    h('td', {}, h('a', { href: tableHref(v.name.schema, v.name.name), class: 'table-link', dataset: { table: qname(v.name.schema, v.name.name) } }, qname(v.name.schema, v.name.name))),
    h('td', {}, v.materialized ? 'materialized view' : 'view'),
    h('td', {}, v.columns.length),
    h('td', {}, h('a', { href: tableHref(v.name.schema, v.name.name, 'structure') }, 'definition'))));
  fill(main, 
    h('h1', {}, 'Tables', h('small', {}, sc.tables.length + ' tables, ' + sc.views.length + ' views')),
    sc.tables.length ? h('table', { class: 'list', id: 'tables' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', {}, 'Kind'), h('th', { class: 'num' }, 'Rows (estimate)'), h('th', { class: 'num' }, 'Size'), h('th', {}, 'Columns'), h('th', {}, 'Key'), h('th', {}, ''))),
      h('tbody', {}, rows)) : h('p', { class: 'muted' }, 'No tables.'),
    sc.views.length ? h('h2', {}, 'Views') : null,
    sc.views.length ? h('table', { class: 'list', id: 'views' },
      h('thead', {}, h('tr', {}, h('th', {}, 'View'), h('th', {}, 'Kind'), h('th', {}, 'Columns'), h('th', {}, ''))),
      h('tbody', {}, views)) : null);
}

// ---------- one table or view ----------

function renderRelation(main, rel, tab, params) {
  const schema = rel.name.schema, name = rel.name.name;
  const isView = rel.definition !== undefined;
  const tabs = h('div', { class: 'tabs' },
    ...[['data', 'Data'], ['structure', 'Structure'], ['relations', 'Relations']]
      .filter(([t]) => !(isView && t === 'relations'))
      .map(([t, label]) => h('a', { href: tableHref(schema, name, t), class: t === tab ? 'active' : '', id: 'tab-' + t }, label)));
  const kind = isView ? (rel.materialized ? 'materialized view' : 'view') : 'table';
  const title = h('h1', {}, qname(schema, name), h('small', {}, kind,
    rel.stats ? ' · ≈ ' + count(rel.stats.rows_estimate) + ' rows · ' + bytes(rel.stats.total_bytes) : ''));
  const body = h('div', {});
  fill(main, title, rel.comment ? h('p', { class: 'muted' }, rel.comment) : null, tabs, body);
  if (tab === 'structure') renderStructure(body, rel, isView);
  else if (tab === 'relations') renderRelations(body, rel);
  else renderGrid(body, rel, params);
}

function listTable(id, headers, rows) {
  return h('table', { class: 'list', id },
    h('thead', {}, h('tr', {}, headers.map(x => h('th', {}, x)))),
    h('tbody', {}, rows.map(r => h('tr', {}, r.map(c => h('td', {}, c === null || c === undefined ? '' : c))))));
}

function renderStructure(body, rel, isView) {
  if (isView) {
    body.append(
      h('h2', {}, 'Columns'),
      listTable('columns', ['Name', 'Type', 'Comment'], rel.columns.map(c => [c.name, c.data_type, c.comment])),
      h('h2', {}, 'Definition'), h('pre', { class: 'mono' }, rel.definition));
    if (rel.indexes && rel.indexes.length) body.append(h('h2', {}, 'Indexes'), listTable('indexes', ['Name', 'Definition'], rel.indexes.map(i => [i.name, i.definition])));
    return;
  }
  const pk = (rel.constraints.find(c => c.kind === 'primary-key') || { columns: [] }).columns;
  body.append(
    h('h2', {}, 'Columns'),
    listTable('columns', ['Name', 'Type', 'Nullable', 'Default', 'Comment'], rel.columns.map(c => [
      h('span', {}, c.name, pk.includes(c.name) ? h('span', { class: 'muted' }, ' (pk)') : null),
      h('code', {}, c.data_type),
      c.not_null ? 'not null' : 'null',
      h('code', {}, c.identity ? 'identity ' + c.identity.kind : c.generated ? 'generated: ' + c.generated : (c.default || '')),
      c.comment])),
    h('h2', {}, 'Constraints'),
    rel.constraints.length ? listTable('constraints', ['Name', 'Kind', 'Definition'], rel.constraints.map(c => [c.name, c.kind, h('code', {}, c.definition + (c.validated ? '' : ' NOT VALID'))])) : h('p', { class: 'muted' }, 'None.'),
    h('h2', {}, 'Indexes'),
    rel.indexes.length ? listTable('indexes', ['Name', 'Definition'], rel.indexes.map(i => [i.name, h('code', {}, i.definition + (i.invalid ? '  -- INVALID' : ''))])) : h('p', { class: 'muted' }, 'No indexes beyond those of constraints.'),
    h('h2', {}, 'Policies', rel.row_security ? h('small', { class: 'muted' }, ' (row-level security enabled' + (rel.force_row_security ? ', forced' : '') + ')') : null),
    (rel.policies || []).length ? listTable('policies', ['Name', 'Kind', 'Command', 'Roles', 'Using', 'With check'], rel.policies.map(p => [p.name, p.permissive ? 'permissive' : 'restrictive', p.command, p.roles.join(', '), h('code', {}, p.using || ''), h('code', {}, p.with_check || '')])) : h('p', { class: 'muted' }, 'None.'),
    h('h2', {}, 'Triggers'),
    (rel.triggers || []).length ? listTable('triggers', ['Name', 'Definition', 'Enabled'], rel.triggers.map(t => [t.name, h('code', {}, t.definition), t.enabled === 'D' ? 'disabled' : 'yes'])) : h('p', { class: 'muted' }, 'None.'));
}

// Foreign keys of the whole schema: { from, fromColumns, to, toColumns, name }.
function foreignKeys() {
  const out = [];
  for (const t of state.schema.tables) {
    for (const c of t.constraints) {
      if (c.kind === 'foreign-key' && c.references) {
        out.push({ from: t.name, fromColumns: c.columns, to: c.references.table, toColumns: c.references.columns, name: c.name, onDelete: c.references.on_delete });
      }
    }
  }
  return out;
}

const same = (a, b) => a.schema === b.schema && a.name === b.name;

function renderRelations(body, rel) {
  const fks = foreignKeys();
  const outgoing = fks.filter(f => same(f.from, rel.name));
  const incoming = fks.filter(f => same(f.to, rel.name));
  const link = n => h('a', { href: tableHref(n.schema, n.name, 'relations'), class: 'relation-link', dataset: { table: qname(n.schema, n.name) } }, qname(n.schema, n.name));
  body.append(
    h('h2', {}, 'References (foreign keys of this table)'),
    outgoing.length ? listTable('outgoing', ['Constraint', 'Columns', 'References', 'On delete'], outgoing.map(f => [f.name, f.fromColumns.join(', '), h('span', {}, link(f.to), ' (' + f.toColumns.join(', ') + ')'), f.onDelete])) : h('p', { class: 'muted' }, 'None.'),
    h('h2', {}, 'Referenced by'),
    incoming.length ? listTable('incoming', ['Table', 'Columns', 'Constraint', 'On delete'], incoming.map(f => [link(f.from), f.fromColumns.join(', ') + ' → ' + f.toColumns.join(', '), f.name, f.onDelete])) : h('p', { class: 'muted' }, 'None.'));
}

// ---------- data grid ----------

const OPS = [['eq', '='], ['ne', '≠'], ['lt', '<'], ['le', '≤'], ['gt', '>'], ['ge', '≥'], ['contains', '∋'], ['starts-with', 'a…'], ['is-null', '∅'], ['not-null', '¬∅']];

function renderGrid(body, rel, params) {
  let filters = [];
  try { filters = JSON.parse(params.get('filter') || '[]'); } catch (_) { filters = []; }
  const g = {
    rel, body, filters, sort: null,
    cursors: [], // the `after` of each page shown so far (null for the first)
    page: null,
    more: false,
    schema: rel.name.schema, name: rel.name.name,
  };
  state.grid = g;
  loadPage(g, null);
}

function requestFor(g, after) {
  const req = { schema: g.schema, name: g.name, filters: g.filters, limit: 100 };
  if (g.sort) req.sort = g.sort;
  if (after) {
    if (Array.isArray(after)) req.after = after;
    else req.offset = after.offset;
  }
  return req;
}

async function loadPage(g, after) {
  let page;
  try {
    page = await api('/api/rows', requestFor(g, after));
  } catch (e) {
    drawGrid(g, null, e);
    return;
  }
  if (state.grid !== g) return;
  g.page = page;
  g.after = after;
  drawGrid(g, page, null);
}

function fkColumns(rel) {
  const map = {};
  if (!rel.constraints) return map;
  for (const c of rel.constraints) {
    if (c.kind === 'foreign-key' && c.references && c.columns.length === 1) map[c.columns[0]] = c.references;
  }
  return map;
}

function drawGrid(g, page, error) {
  const rel = g.rel;
  const writable = page ? page.writable : false;
  const columns = page ? page.columns : rel.columns.map(c => ({ name: c.name, type: c.data_type }));
  const fks = fkColumns(rel);
  const sortMark = name => g.sort && g.sort.column === name ? (g.sort.desc ? ' ▼' : ' ▲') : '';

  const head = h('tr', {},
    writable ? h('th', {}, '') : null,
    columns.map(c => h('th', {
      class: 'sortable', dataset: { col: c.name }, title: 'Sort by ' + c.name,
      onclick: () => {
        if (!g.sort || g.sort.column !== c.name) g.sort = { column: c.name, desc: false };
        else if (!g.sort.desc) g.sort = { column: c.name, desc: true };
        else g.sort = null;
        g.cursors = [];
        loadPage(g, null);
      },
    }, c.name, h('span', { class: 'type' }, c.type), sortMark(c.name))));
  const filterRow = h('tr', { class: 'filters' },
    writable ? h('th', {}, '') : null,
    columns.map(c => {
      const current = g.filters.find(f => f.column === c.name) || { op: 'eq', value: '' };
      const select = h('select', { class: 'filter-op', dataset: { col: c.name }, title: 'Filter operator' },
        OPS.map(([v, label]) => h('option', { value: v, selected: v === current.op }, label)));
      const input = h('input', { class: 'filter-input', dataset: { col: c.name }, type: 'text', placeholder: 'filter', value: current.value || '' });
      input.addEventListener('keydown', e => { if (e.key === 'Enter') { e.preventDefault(); applyFilters(g); } });
      select.addEventListener('change', () => { if (select.value === 'is-null' || select.value === 'not-null' || input.value) applyFilters(g); });
      return h('th', {}, h('div', { class: 'filter-cell' }, select, input));
    }));

  const rows = page ? page.rows.map((row, i) => gridRow(g, page, row, page.ids[i], columns, fks, writable)) : [];
  const table = h('table', { class: 'grid', id: 'grid' }, h('thead', {}, head, filterRow), h('tbody', {}, rows));

  const pageNo = g.cursors.length + 1;
  const toolbar = h('div', { class: 'toolbar' },
    h('button', { id: 'page-first', disabled: g.cursors.length === 0, onclick: () => { g.cursors = []; loadPage(g, null); } }, '⇤ First'),
    h('button', { id: 'page-prev', disabled: g.cursors.length === 0, onclick: () => { const prev = g.cursors.pop(); loadPage(g, prev); } }, '← Previous'),
    h('button', { id: 'page-next', disabled: !(page && page.more), onclick: () => {
      g.cursors.push(g.after);
      loadPage(g, page.key === 'none' ? { offset: ((g.after && g.after.offset) || 0) + page.rows.length } : page.next);
    } }, 'Next →'),
    h('span', { class: 'muted', id: 'page-info' }, page ? 'page ' + pageNo + ' · ' + page.rows.length + ' rows' + (page.more ? '' : ' (last page)') : ''),
    h('button', { id: 'apply-filters', onclick: () => applyFilters(g) }, 'Filter'),
    h('button', { id: 'clear-filters', disabled: g.filters.length === 0, onclick: () => { g.filters = []; g.cursors = []; loadPage(g, null); } }, 'Clear filters'),
    writable ? h('button', { id: 'insert-row', class: 'primary', onclick: () => insertForm(g, columns) }, '+ Insert row') : null,
    page && page.key === 'ctid' ? h('span', { class: 'muted' }, 'no primary key: rows are told apart by ctid') : null,
    page && page.key === 'none' ? h('span', { class: 'muted' }, 'read-only: no key') : null);
  const insertSlot = h('div', { id: 'insert-slot' });
  g.insertSlot = insertSlot;
  fill(g.body, toolbar, insertSlot, error ? errorBox(error, 'grid-error') : null, h('div', { class: 'grid-wrap' }, table));
}

function applyFilters(g) {
  const filters = [];
  for (const input of g.body.querySelectorAll('.filter-input')) {
    const col = input.dataset.col;
    const op = g.body.querySelector('.filter-op[data-col="' + CSS.escape(col) + '"]').value;
    if (op === 'is-null' || op === 'not-null') filters.push({ column: col, op });
    else if (input.value !== '') filters.push({ column: col, op, value: input.value });
  }
  g.filters = filters;
  g.cursors = [];
  loadPage(g, null);
}

function gridRow(g, page, row, id, columns, fks, writable) {
  const tr = h('tr', {});
  if (writable) {
    tr.append(h('td', { class: 'actions' }, h('button', {
      class: 'row-delete danger', title: 'Delete this row',
      onclick: () => deleteRow(g, page, tr, id, row, columns),
    }, '✕')));
  }
  columns.forEach((c, i) => {
    const value = row[i];
    const td = h('td', { class: value === null ? 'null' : '', dataset: { col: c.name }, title: value === null ? 'NULL' : value });
    const ref = fks[c.name];
    if (ref && value !== null) {
      const filter = JSON.stringify([{ column: ref.columns[0], op: 'eq', value }]);
      td.append(h('a', { href: tableHref(ref.table.schema, ref.table.name) + '?filter=' + encodeURIComponent(filter), class: 'fk-link', title: 'Open the referenced row' }, value));
    } else {
      td.textContent = show(value);
    }
    if (writable) td.addEventListener('dblclick', () => editCell(g, td, id, c, row, i));
    tr.append(td);
  });
  return tr;
}

function editCell(g, td, id, column, row, index) {
  if (td.classList.contains('editing')) return;
  const old = row[index];
  const input = h('input', { type: 'text', class: 'cell-input', value: old === null ? '' : old });
  const isNull = h('input', { type: 'checkbox', class: 'cell-null', checked: old === null, title: 'NULL' });
  const slot = h('div', {});
  const restore = () => {
    td.classList.remove('editing');
    td.className = row[index] === null ? 'null' : '';
    td.textContent = show(row[index]);
  };
  const save = async () => {
    const value = isNull.checked ? null : input.value;
    const ok = await confirmDialog('Update a row of ' + qname(g.schema, g.name) + '?', [
      h('p', {}, 'Set ', h('code', {}, column.name), ' of the row ', h('code', {}, idText(page(g), id)), ':'),
      h('pre', {}, show(old) + '\n→ ' + show(value))]);
    if (!ok) return;
    try {
      const result = await api('/api/update', { schema: g.schema, name: g.name, id, column: column.name, value, old });
      result.row.forEach((v, i) => { row[i] = v; });
      id.splice(0, id.length, ...result.id);
      restore();
      td.classList.add('saved');
    } catch (e) {
      slot.replaceChildren(errorBox(e, 'cell-error'));
    }
  };
  input.addEventListener('keydown', e => {
    // Keep this Enter from reaching the dialog's focused button as well.
    if (e.key === 'Enter') { e.preventDefault(); save(); }
    if (e.key === 'Escape') restore();
  });
  td.classList.add('editing');
  td.replaceChildren(h('div', { class: 'cell-editor' }, input,
    h('label', { title: 'NULL' }, isNull, 'NULL'),
    h('button', { class: 'cell-save primary', onclick: save }, 'Save'),
    h('button', { class: 'cell-cancel', onclick: restore }, 'Cancel')), slot);
  input.focus();
}

const page = g => g.page;
function idText(p, id) {
  if (!p) return JSON.stringify(id);
  if (p.key === 'ctid') return 'ctid = ' + id[0];
  const pk = (state.grid.rel.constraints.find(c => c.kind === 'primary-key') || { columns: [] }).columns;
  return pk.map((c, i) => c + ' = ' + id[i]).join(', ');
}

async function deleteRow(g, p, tr, id, row, columns) {
  const ok = await confirmDialog('Delete a row of ' + qname(g.schema, g.name) + '?', [
    h('p', {}, 'Delete the row ', h('code', {}, idText(p, id)), '. This cannot be undone.'),
    h('pre', {}, columns.map((c, i) => c.name + ': ' + show(row[i])).join('\n'))]);
  if (!ok) return;
  try {
    await api('/api/delete', { schema: g.schema, name: g.name, id });
    tr.remove();
  } catch (e) {
    const cell = h('td', { colspan: columns.length + 1 }, errorBox(e, 'row-error'));
    tr.after(h('tr', {}, cell));
  }
}

function insertForm(g, columns) {
  const rel = g.rel;
  const inputs = [];
  const rows = columns.map(c => {
    const meta = rel.columns.find(x => x.name === c.name) || {};
    const auto = meta.generated || (meta.identity && meta.identity.kind === 'always');
    const input = h('input', { type: 'text', class: 'insert-input', dataset: { col: c.name }, placeholder: auto ? 'generated' : meta.default ? 'default: ' + meta.default : (meta.not_null ? 'required' : 'NULL (default)'), disabled: !!auto });
    const isNull = h('input', { type: 'checkbox', class: 'insert-null', dataset: { col: c.name }, disabled: !!auto });
    inputs.push({ column: c.name, input, isNull, auto });
    return h('tr', {}, h('td', {}, h('strong', {}, c.name), ' ', h('span', { class: 'muted' }, c.type)), h('td', {}, input), h('td', {}, h('label', { class: 'null' }, isNull, ' NULL')));
  });
  const errorSlot = h('div', {});
  const form = h('div', { class: 'insert-form', id: 'insert-form' },
    h('p', { class: 'muted' }, 'Empty fields take the column default.'),
    h('table', {}, h('tbody', {}, rows)), errorSlot,
    h('div', { class: 'toolbar' },
      h('button', { id: 'insert-save', class: 'primary', onclick: async () => {
        const values = [];
        for (const x of inputs) {
          if (x.auto) continue;
          if (x.isNull.checked) values.push([x.column, null]);
          else if (x.input.value !== '') values.push([x.column, x.input.value]);
        }
        const ok = await confirmDialog('Insert a row into ' + qname(g.schema, g.name) + '?', [
          h('pre', {}, values.length ? values.map(([c, v]) => c + ': ' + show(v)).join('\n') : '(all defaults)')]);
        if (!ok) return;
        try {
          await api('/api/insert', { schema: g.schema, name: g.name, values });
          g.insertSlot.replaceChildren(h('p', { class: 'ok', id: 'insert-done' }, 'Inserted one row.'));
          loadPage(g, g.after).then(() => g.insertSlot.replaceChildren(h('p', { class: 'ok', id: 'insert-done' }, 'Inserted one row.')));
        } catch (e) {
          errorSlot.replaceChildren(errorBox(e, 'insert-error'));
        }
      } }, 'Insert'),
      h('button', { onclick: () => g.insertSlot.replaceChildren() }, 'Cancel')));
  g.insertSlot.replaceChildren(form);
  const first = inputs.find(x => !x.auto);
  if (first) first.input.focus();
}

// ---------- SQL console ----------

function renderConsole(main) {
  const ro = state.schema.read_only;
  const input = h('textarea', { id: 'sql-input', spellcheck: 'false', placeholder: 'select * from …   (Ctrl+Enter runs)' });
  input.value = sessionStorage.getItem('strata-sql') || '';
  const mode = h('select', { id: 'sql-mode', title: 'Read-only runs the statement in a READ ONLY transaction that is rolled back' },
    h('option', { value: 'read' }, 'read-only'),
    h('option', { value: 'write', disabled: ro }, 'write'));
  const out = h('div', { id: 'sql-results' });
  const run = async () => {
    sessionStorage.setItem('strata-sql', input.value);
    if (mode.value === 'write') {
      const ok = await confirmDialog('Run in write mode?', [h('p', {}, 'Changes are committed.'), h('pre', {}, input.value)]);
      if (!ok) return;
    }
    fill(out, h('p', { class: 'muted' }, 'Running…'));
    try {
      const r = await api('/api/sql', { sql: input.value, mode: mode.value });
      fill(out, h('p', { class: 'sql-meta muted', id: 'sql-meta' }, r.results.length + ' result(s) in ' + r.elapsed_ms.toFixed(1) + ' ms'),
        ...r.results.map(resultGrid));
      if (r.schema_changed) loadSchema(true).catch(() => {});
    } catch (e) {
      fill(out, errorBox(e, 'sql-error'));
    }
  };
  input.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  fill(main, h('h1', {}, 'SQL console'),
    input,
    h('div', { class: 'toolbar', style: null }, h('button', { id: 'sql-run', class: 'primary', onclick: run }, 'Run'), h('label', {}, 'Mode ', mode),
      h('span', { class: 'muted' }, ro ? 'The studio is read-only.' : 'Read-only mode runs one statement in a READ ONLY transaction and rolls it back.')),
    out);
  input.focus();
}

function resultGrid(r) {
  const meta = r.columns.length
    ? (r.truncated ? 'first ' + r.rows.length + ' rows' : r.rows.length + ' row' + (r.rows.length === 1 ? '' : 's'))
    : (r.affected !== null ? r.affected + ' row(s) affected' : 'done');
  if (!r.columns.length) return h('p', { class: 'result-meta' }, meta);
  return h('div', {},
    h('p', { class: 'result-meta muted' }, meta),
    h('div', { class: 'grid-wrap' }, h('table', { class: 'grid result-grid' },
      h('thead', {}, h('tr', {}, r.columns.map(c => h('th', {}, c.name, c.type ? h('span', { class: 'type' }, c.type) : null)))),
      h('tbody', {}, r.rows.map(row => h('tr', {}, row.map(v => h('td', { class: v === null ? 'null' : '', title: show(v) }, show(v)))))))));
}

// ---------- migrations ----------

async function renderMigrations(main) {
  fill(main, h('h1', {}, 'Migrations'), h('p', { class: 'muted' }, 'Reading the tracking table and replaying the applied migrations to look for drift…'));
  let st;
  try { st = await api('/api/migrations'); } catch (e) { fill(main, h('h1', {}, 'Migrations'), errorBox(e)); return; }
  const NOTES = {
    applied: '', pending: 'not applied yet', edited: 'applied, but the file changed since',
    'out-of-order': 'pending, older than the newest applied one',
  };
  const when = ms => ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '';
  const rows = st.migrations.map(m => [m.tag, h('span', { class: 'state-' + m.state }, m.state), when(m.when), NOTES[m.state] || '']);
  const counts = {};
  for (const m of st.migrations) counts[m.state] = (counts[m.state] || 0) + 1;
  fill(main, h('h1', {}, 'Migrations', h('small', {}, st.folder + ' → ' + st.target)),
    h('p', { id: 'migrations-summary' }, st.migrations.length + ' migration(s): ' +
      (Object.entries(counts).map(([k, v]) => v + ' ' + k).join(', ') || 'none')),
    rows.length ? listTable('migrations', ['Migration', 'State', 'Created', 'Note'], rows) : h('p', { class: 'muted' }, 'No migrations in ' + st.folder + '.'),
    st.missing.length ? h('h2', {}, 'Missing files') : null,
    st.missing.length ? listTable('missing', ['Hash (sha256)', 'Created'], st.missing.map(m => [h('code', {}, m.hash), when(m.created_at)])) : null,
    h('h2', {}, 'Drift'),
    st.drift.length
      ? h('div', { id: 'drift' }, h('p', { class: 'state-edited' }, 'The database differs from what its applied migrations produce. These statements would make it match them:'),
        h('pre', { class: 'mono' }, st.drift.map(s => s + ';').join('\n')))
      : h('p', { id: 'drift' }, 'None: the database is what its applied migrations produce.'));
}

// ---------- entity-relationship diagram ----------

function renderDiagram(main) {
  const tables = state.schema.tables.filter(t => !t.partition_of);
  const fks = foreignKeys();
  fill(main, h('h1', {}, 'Diagram', h('small', {}, tables.length + ' tables, ' + fks.length + ' foreign keys · drag to pan, wheel to zoom, click a title to open')),
    h('div', { id: 'diagram-wrap' }));
  const wrap = document.getElementById('diagram-wrap');
  if (!tables.length) { wrap.replaceChildren(h('p', { class: 'muted' }, 'No tables.')); return; }
  const layout = layoutDiagram(tables, fks);
  const svg = s('svg', { id: 'diagram', viewBox: '0 0 ' + layout.width + ' ' + layout.height });
  const edges = s('g', {});
  const nodes = s('g', {});
  svg.append(s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8a8f9c' }))), edges, nodes);
  const boxes = new Map();
  for (const n of layout.nodes) {
    const t = n.table;
    const key = qname(t.name.schema, t.name.name);
    const pk = (t.constraints.find(c => c.kind === 'primary-key') || { columns: [] }).columns;
    const fkCols = new Set(t.constraints.filter(c => c.kind === 'foreign-key').flatMap(c => c.columns));
    const g = s('g', { class: 'entity', transform: 'translate(' + n.x + ',' + n.y + ')', 'data-table': key });
    g.append(s('rect', { class: 'box', width: n.w, height: n.h, rx: '4' }),
      s('rect', { class: 'head', width: n.w, height: ROW + 4, rx: '4' }));
    const title = s('text', { class: 'title', x: 8, y: 16 }, t.name.schema === 'public' ? t.name.name : key);
    title.addEventListener('click', () => { location.hash = tableHref(t.name.schema, t.name.name, 'structure'); });
    g.append(title);
    n.visible.forEach((c, i) => {
      const y = ROW + 4 + (i + 1) * ROW - 5;
      const mark = pk.includes(c.name) ? 'PK ' : fkCols.has(c.name) ? 'FK ' : '   ';
      g.append(s('text', { x: 8, y }, mark + c.name), s('text', { class: 'type', x: n.w - 8, y, 'text-anchor': 'end' }, c.data_type.length > TYPE_CHARS ? c.data_type.slice(0, TYPE_CHARS - 1) + '…' : c.data_type));
    });
    if (n.hidden) g.append(s('text', { class: 'type', x: 8, y: n.h - 6 }, '… ' + n.hidden + ' more'));
    g.addEventListener('mouseenter', () => highlight(key, true));
    g.addEventListener('mouseleave', () => highlight(key, false));
    nodes.append(g);
    boxes.set(key, { n, g });
  }
  const edgeEls = [];
  for (const f of fks) {
    const a = layout.byName.get(qname(f.from.schema, f.from.name));
    const b = layout.byName.get(qname(f.to.schema, f.to.name));
    if (!a || !b) continue;
    const ay = a.y + a.rowY(f.fromColumns[0]);
    const by = b.y + b.rowY(f.toColumns[0]);
    let d;
    if (a === b) {
      const x = a.x + a.w;
      d = 'M' + x + ',' + ay + ' C' + (x + 40) + ',' + ay + ' ' + (x + 40) + ',' + by + ' ' + x + ',' + by;
    } else {
      const leftToRight = a.x + a.w / 2 <= b.x + b.w / 2;
      const ax = leftToRight ? a.x + a.w : a.x;
      const bx = leftToRight ? b.x : b.x + b.w;
      const dx = Math.max(40, Math.abs(bx - ax) / 2) * (leftToRight ? 1 : -1);
      d = 'M' + ax + ',' + ay + ' C' + (ax + dx) + ',' + ay + ' ' + (bx - dx) + ',' + by + ' ' + bx + ',' + by;
    }
    const path = s('path', { class: 'edge', d, 'marker-end': 'url(#arrow)', 'data-from': qname(f.from.schema, f.from.name), 'data-to': qname(f.to.schema, f.to.name) });
    path.append(s('title', {}, f.name + ': ' + qname(f.from.schema, f.from.name) + ' (' + f.fromColumns.join(', ') + ') → ' + qname(f.to.schema, f.to.name) + ' (' + f.toColumns.join(', ') + ')'));
    edges.append(path);
    edgeEls.push(path);
  }
  function highlight(key, on) {
    for (const p of edgeEls) if (p.dataset.from === key || p.dataset.to === key) p.classList.toggle('hl', on);
    boxes.get(key).g.classList.toggle('hl', on);
  }
  wrap.replaceChildren(svg);
  panZoom(svg, layout);
}

const ROW = 18, MAX_ROWS = 14, BOX_W = 200, MAX_BOX_W = 380, TYPE_CHARS = 22, GAP_X = 90, GAP_Y = 28, COLUMN_H = 900;

// A layered layout: each table one column right of the tables it
// references (longest path, cycles broken), ordered within a column by
// the mean position of its neighbours, a few sweeps each way.
function layoutDiagram(tables, fks) {
  const key = t => qname(t.name.schema, t.name.name);
  const nodes = tables.map(t => {
    const visible = t.columns.slice(0, MAX_ROWS);
    const hidden = t.columns.length - visible.length;
    // Wide enough for the longest name beside its (shortened) type, in
    // the 12px monospace font (~7.3px a character).
    const chars = Math.max((t.name.schema === 'public' ? t.name.name : key(t)).length + 2, ...visible.map(c => c.name.length + 3 + Math.min(c.data_type.length, TYPE_CHARS)));
    const w = Math.max(BOX_W, Math.min(MAX_BOX_W, Math.ceil(chars * 7.3) + 24));
    const n = { table: t, visible, hidden, w, h: ROW + 8 + (visible.length + (hidden ? 1 : 0)) * ROW, out: [], inn: [] };
    n.rowY = col => {
      const i = visible.findIndex(c => c.name === col);
      return i < 0 ? ROW / 2 + 2 : ROW + 4 + i * ROW + ROW / 2;
    };
    return n;
  });
  const byName = new Map(nodes.map(n => [key(n.table), n]));
  for (const f of fks) {
    const a = byName.get(qname(f.from.schema, f.from.name));
    const b = byName.get(qname(f.to.schema, f.to.name));
    if (a && b && a !== b) { a.out.push(b); b.inn.push(a); }
  }
  // Rank: 0 for tables that reference nothing; else 1 + the highest rank
  // of what they reference. A table on the DFS stack is a cycle: skip.
  const rank = new Map();
  const onStack = new Set();
  const visit = n => {
    if (rank.has(n)) return rank.get(n);
    onStack.add(n);
    let r = 0;
    for (const m of n.out) if (!onStack.has(m)) r = Math.max(r, visit(m) + 1);
    onStack.delete(n);
    rank.set(n, r);
    return r;
  };
  nodes.forEach(visit);
  // Tables with no relation at all go into their own grid at the end.
  const loners = nodes.filter(n => !n.out.length && !n.inn.length);
  const linked = nodes.filter(n => n.out.length || n.inn.length);
  const layers = [];
  for (const n of linked) {
    const r = rank.get(n);
    (layers[r] = layers[r] || []).push(n);
  }
  const filled = layers.filter(Boolean);
  filled.forEach(l => l.forEach((n, i) => { n.order = i; }));
  const mean = (n, side) => {
    const ns = side === 'out' ? n.out : n.inn;
    return ns.length ? ns.reduce((a, m) => a + m.order, 0) / ns.length : n.order;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const seq = sweep % 2 ? filled.slice().reverse() : filled;
    for (const l of seq) {
      l.sort((a, b) => mean(a, sweep % 2 ? 'inn' : 'out') - mean(b, sweep % 2 ? 'inn' : 'out'));
      l.forEach((n, i) => { n.order = i; });
    }
  }
  // Each layer left to right; a layer taller than COLUMN_H wraps into
  // several columns side by side.
  let width = 0, height = 0, x = 20;
  for (const l of filled) {
    let y = 20, colW = 0;
    for (const n of l) {
      if (y > 20 && y + n.h > COLUMN_H) { x += colW + GAP_X / 2; y = 20; colW = 0; }
      n.x = x; n.y = y;
      y += n.h + GAP_Y;
      colW = Math.max(colW, n.w);
      height = Math.max(height, y);
    }
    x += colW + GAP_X;
    width = Math.max(width, x);
  }
  if (loners.length) {
    const cols = Math.max(1, Math.min(6, Math.ceil(Math.sqrt(loners.length))));
    const top = height + (filled.length ? 30 : 20);
    const rowHeights = [];
    loners.forEach((n, i) => { const r = Math.floor(i / cols); rowHeights[r] = Math.max(rowHeights[r] || 0, n.h); });
    const rowTop = [top];
    rowHeights.forEach((hgt, r) => { rowTop[r + 1] = rowTop[r] + hgt + GAP_Y; });
    const cellW = Math.max(...loners.map(n => n.w)) + 40;
    loners.forEach((n, i) => {
      n.x = 20 + (i % cols) * cellW;
      n.y = rowTop[Math.floor(i / cols)];
    });
    width = Math.max(width, 20 + cols * cellW);
    height = rowTop[rowTop.length - 1];
  }
  return { nodes, byName, width: Math.max(width, 400), height: Math.max(height, 300) };
}

function panZoom(svg, layout) {
  let vb = { x: 0, y: 0, w: layout.width, h: layout.height };
  const apply = () => svg.setAttribute('viewBox', vb.x + ' ' + vb.y + ' ' + vb.w + ' ' + vb.h);
  svg.addEventListener('wheel', e => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const scale = Math.min(vb.w / r.width, vb.h / r.height);
    const px = vb.x + (e.clientX - r.left) * scale, py = vb.y + (e.clientY - r.top) * scale;
    const f = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    vb = { x: px - (px - vb.x) * f, y: py - (py - vb.y) * f, w: vb.w * f, h: vb.h * f };
    apply();
  }, { passive: false });
  let drag = null;
  svg.addEventListener('pointerdown', e => {
    if (e.target.classList && e.target.classList.contains('title')) return;
    drag = { x: e.clientX, y: e.clientY, vb: { ...vb } };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', e => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    const scale = Math.max(vb.w / r.width, vb.h / r.height);
    vb = { ...drag.vb, x: drag.vb.x - (e.clientX - drag.x) * scale, y: drag.vb.y - (e.clientY - drag.y) * scale };
    apply();
  });
  svg.addEventListener('pointerup', () => { drag = null; });
}

// ---------- start ----------

document.getElementById('sidebar-filter').addEventListener('input', renderSidebar);
document.getElementById('reload').addEventListener('click', async () => {
  try { await loadSchema(true); route(); } catch (e) { document.getElementById('main').replaceChildren(errorBox(e)); }
});
window.addEventListener('hashchange', route);
route();
