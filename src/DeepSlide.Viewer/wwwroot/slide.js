'use strict';
// The slide page: the slide in OpenSeadragon from the run's Deep Zoom tiles, the model's layers over it (one pixel per
// patch, drawn without smoothing), the calls, the result files, and a click on a patch for its probabilities.
(function () {
  const query = new URLSearchParams(location.search);
  const runId = query.get('run') || '';
  // slide.html?run=…&focus=threshold opens at that call's focus: a link a colleague can follow.
  const focusOf = query.get('focus');
  const api = 'api/runs/' + encodeURIComponent(runId);
  const message = document.getElementById('message');
  // What each method's score of its call is; a call without a note shows it as its evidence.
  const scoreNames = { majority: 'share of patches', mean: 'mean probability', threshold: 'share above threshold', learned: 'probability', mil: 'probability' };
  const fileNames = { geojson: 'QuPath GeoJSON', parquet: 'Patch predictions (Parquet)', csv: 'Patch predictions (CSV)', json: 'Result (JSON)' };

  function show(text) {
    message.textContent = text;
    message.hidden = false;
  }

  async function problem(response) {
    try { return (await response.json()).detail || response.statusText; } catch (e) { return response.statusText; }
  }

  function element(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  }

  function layerName(layer, results) {
    if (layer === 'classes') return 'Class map';
    if (layer === 'attention') return 'Attention';
    if (layer === 'tissue') return 'Tissue mask';
    const c = Number(layer.substring('heatmap-'.length));
    return 'Heatmap: ' + results.classes[c];
  }

  async function start() {
    const response = await fetch(api, { credentials: 'same-origin' });
    if (!response.ok) {
      show(await problem(response));
      return;
    }
    const info = await response.json();
    const run = info.run;
    document.title = run.slide + ' - DeepSlide';
    document.getElementById('title').textContent = run.slide;
    document.getElementById('status').textContent = run.status === 'Running' ? 'Running ' + run.rangesDone + '/' + run.rangesTotal : run.status;
    if (run.error) show(run.error);

    const calls = document.querySelector('#calls tbody');
    const focusButtons = [];
    for (const call of run.calls) {
      const row = element('tr');
      row.dataset.method = call.method;
      row.appendChild(element('td', call.method));
      row.appendChild(element('td', call.label ?? '-'));
      const score = call.label !== null && call.label !== undefined ? call.scores[call.label] : undefined;
      const evidence = element('td', call.note ?? (score === undefined ? '' : (scoreNames[call.method] || 'score') + ' ' + score.toFixed(3)), 'evidence');
      if (call.focus) {
        const button = element('button', 'Show', 'show-focus');
        button.type = 'button';
        button.disabled = true;
        button.setAttribute('aria-label', 'Show the focus of the ' + call.method + ' call');
        evidence.append(' ', button);
        focusButtons.push({ button, focus: call.focus, method: call.method });
      }
      row.appendChild(evidence);
      calls.appendChild(row);
    }
    const files = document.getElementById('files');
    for (const kind of info.files) {
      const li = element('li');
      const a = element('a', fileNames[kind] || kind);
      a.href = api + '/files/' + kind;
      a.setAttribute('download', '');
      li.appendChild(a);
      files.appendChild(li);
    }

    const viewer = OpenSeadragon({
      element: document.getElementById('viewer'),
      prefixUrl: 'vendor/openseadragon/images/',
      tileSources: api + '/slide.dzi',
      drawer: 'canvas',
      imageSmoothingEnabled: false,
      showNavigator: true,
      maxZoomPixelRatio: 2,
      gestureSettingsMouse: { clickToZoom: false },
      crossOriginPolicy: false,
    });
    window.deepslideViewer = viewer;

    let failed = false;
    viewer.addHandler('tile-load-failed', async event => {
      if (failed) return;
      failed = true;
      const r = await fetch(event.tile.getUrl(), { credentials: 'same-origin' });
      show(r.ok ? 'A tile failed to load.' : await problem(r));
    });
    viewer.addHandler('open-failed', async () => {
      const r = await fetch(api + '/slide.dzi', { credentials: 'same-origin' });
      show(r.ok ? 'The slide could not be opened.' : await problem(r));
    });

    const results = info.results;
    if (!results) return;
    viewer.addHandler('open', () => {
      addLayers(viewer, results);
      for (const { button, focus, method } of focusButtons) {
        button.disabled = false;
        button.addEventListener('click', () => showFocus(viewer, focus, results));
        if (method === focusOf) showFocus(viewer, focus, results);
      }
    });
    viewer.addHandler('canvas-click', event => {
      if (!event.quick) return;
      const slide = viewer.world.getItemAt(0);
      const point = slide.viewerElementToImageCoordinates(event.position);
      showPatch(point.x, point.y, results);
    });
  }

  function addLayers(viewer, results) {
    const slide = viewer.world.getItemAt(0);
    const slideWidth = slide.getContentSize().x;
    const container = document.getElementById('layers');
    results.layers.forEach((layer, index) => {
      const row = element('div', undefined, 'layer');
      row.dataset.layer = layer;
      const toggle = element('input');
      toggle.type = 'checkbox';
      toggle.id = 'layer-' + layer;
      toggle.checked = layer === 'classes';
      const label = element('label', layerName(layer, results));
      label.htmlFor = toggle.id;
      const opacity = element('input');
      opacity.type = 'range';
      opacity.min = '0';
      opacity.max = '1';
      opacity.step = '0.05';
      opacity.value = '0.5';
      opacity.className = 'opacity';
      opacity.setAttribute('aria-label', layerName(layer, results) + ' opacity');
      row.append(toggle, label, opacity);
      container.appendChild(row);

      const img = new Image();
      img.onload = () => {
        const widthAtLevel0 = Number(img.dataset.width);
        viewer.addTiledImage({
          tileSource: { type: 'image', url: img.src, buildPyramid: false },
          x: 0,
          y: 0,
          width: (widthAtLevel0 || img.naturalWidth) / slideWidth,
          opacity: toggle.checked ? Number(opacity.value) : 0,
          index: index + 1,
          success: e => {
            const item = e.item;
            const update = () => item.setOpacity(toggle.checked ? Number(opacity.value) : 0);
            toggle.addEventListener('change', update);
            opacity.addEventListener('input', update);
            row.dataset.ready = 'true';
          },
        });
      };
      fetch(api + '/layers/' + layer + '.png', { credentials: 'same-origin' }).then(async r => {
        img.dataset.width = r.headers.get('X-Width-Level0') || '';
        img.src = URL.createObjectURL(await r.blob());
      });
    });
    if (results.layers.length > 0) {
      const legend = element('div');
      results.classes.forEach((name, c) => {
        const item = element('div');
        const swatch = element('span', undefined, 'swatch');
        swatch.style.background = results.colours[c];
        item.append(swatch, document.createTextNode(name));
        legend.appendChild(item);
      });
      container.appendChild(legend);
    }
  }

  // Zooms to a focus (grid cells, turned into level-0 pixels by the plan's stride and window) with a patch or half
  // its size of tissue around it, and outlines it: a focus of one patch is easy to lose on a large slide.
  function showFocus(viewer, focus, results) {
    const slide = viewer.world.getItemAt(0);
    const x = focus.column * results.cellSide, y = focus.row * results.cellSide;
    const width = (focus.columns - 1) * results.cellSide + results.patchSide;
    const height = (focus.rows - 1) * results.cellSide + results.patchSide;
    const outline = slide.imageToViewportRectangle(x, y, width, height);
    const margin = Math.max(results.patchSide, Math.max(width, height) / 2);
    viewer.viewport.fitBounds(slide.imageToViewportRectangle(x - margin, y - margin, width + 2 * margin, height + 2 * margin), true);
    let marker = document.getElementById('focus-outline');
    if (marker) viewer.removeOverlay(marker);
    marker = element('div', undefined, 'focus-outline');
    marker.id = 'focus-outline';
    marker.dataset.x = x;
    marker.dataset.y = y;
    marker.dataset.width = width;
    marker.dataset.height = height;
    viewer.addOverlay(marker, outline);
  }

  async function showPatch(x, y, results) {
    const panel = document.getElementById('patch');
    const r = await fetch(api + '/patch?x=' + x.toFixed(1) + '&y=' + y.toFixed(1), { credentials: 'same-origin' });
    panel.replaceChildren();
    if (!r.ok) {
      panel.appendChild(element('p', await problem(r)));
      return;
    }
    const patch = await r.json();
    panel.dataset.x = patch.x;
    panel.dataset.y = patch.y;
    panel.appendChild(element('p', 'Patch at (' + patch.x + ', ' + patch.y + '): ' + patch.prediction, 'patch-call'));
    const table = element('table');
    for (const name of results.classes) {
      const row = element('tr');
      row.dataset.class = name;
      row.appendChild(element('td', name));
      // Three decimals to read; the stored float32, as the Parquet holds it, on hover and in data-value.
      const probability = element('td', patch.probabilities[name].toFixed(3), 'probability');
      probability.dataset.value = probability.title = String(patch.probabilities[name]);
      row.appendChild(probability);
      table.appendChild(row);
    }
    panel.appendChild(table);
  }

  start().catch(e => show('The page failed: ' + e.message));
})();
