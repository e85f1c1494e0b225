'use strict';
// The runs page: every run, its status and live progress, each aggregator's call. Names are set as text, never markup.
(function () {
  const body = document.querySelector('#runs tbody');
  const status = document.getElementById('status');
  const search = document.getElementById('search');
  const differ = document.getElementById('differ');
  const message = document.getElementById('message');

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function statusText(run) {
    if (run.status === 'Running') return 'Running ' + run.rangesDone + '/' + run.rangesTotal;
    return run.status;
  }

  async function load() {
    const query = new URLSearchParams();
    if (status.value) query.set('status', status.value);
    if (search.value.trim()) query.set('q', search.value.trim());
    let runs;
    try {
      const response = await fetch('api/runs/?' + query.toString(), { credentials: 'same-origin' });
      if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
      runs = await response.json();
      message.hidden = true;
    } catch (e) {
      message.textContent = 'Could not list the runs: ' + e.message;
      message.hidden = false;
      return;
    }
    body.replaceChildren();
    const labelsOf = run => new Set(run.calls.filter(c => c.label !== null && c.label !== undefined).map(c => c.label));
    if (differ.checked) runs = runs.filter(run => labelsOf(run).size > 1);
    for (const run of runs) {
      const row = document.createElement('tr');
      row.dataset.run = run.runId;
      const name = cell(row, '', 'slide');
      const link = document.createElement('a');
      link.href = 'slide.html?run=' + encodeURIComponent(run.runId);
      link.textContent = run.slide;
      name.appendChild(link);
      const s = cell(row, statusText(run), 'status status-' + run.status.toLowerCase());
      if (run.error) s.title = run.error;
      cell(row, run.calls.map(c => c.method + ': ' + (c.label ?? '-')).join(', '), 'calls');
      // Slides whose aggregators call different classes are the ones a pathologist should look at first.
      const labels = labelsOf(run);
      const review = cell(row, labels.size > 1 ? 'calls differ' : '', 'review');
      if (labels.size > 1) review.title = 'The aggregators call ' + [...labels].join(', ') + ': worth a look.';
      cell(row, run.updatedUtc ? new Date(run.updatedUtc).toLocaleString() : '', 'updated');
      cell(row, run.model ?? '', 'model');
      body.appendChild(row);
    }
    if (runs.length === 0) {
      message.textContent = 'No runs match.';
      message.hidden = false;
    }
  }

  status.addEventListener('change', load);
  search.addEventListener('input', load);
  differ.addEventListener('change', load);
  document.getElementById('filters').addEventListener('submit', e => { e.preventDefault(); load(); });
  load();
  setInterval(load, 3000);
})();
