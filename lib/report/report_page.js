/*
 * report_page.js — the script of `db report` pages (compiled into
 * lib/report/report_html.c, inlined after Chart.js).  Draws every chart described
 * in the page's JSON (#report-data), makes the tables sortable by a click on
 * a header, and writes what happened into #report-status (charts drawn with
 * their page rectangles, script errors, resources fetched) for the browser
 * test (tests/report.sh).
 */
(function () {
	'use strict';
	var status = { ok: false, errors: [], charts: [], resources: -1 };
	var statusEl = document.getElementById('report-status');
	function publish() { statusEl.textContent = JSON.stringify(status); }
	window.addEventListener('error', function (e) { status.errors.push(String(e.message)); publish(); });

	var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
		       '#7f7f7f', '#bcbd22', '#17becf'];

	/* Chart.js configuration of one spec {id, type, title, labels,
	 * datasets [{label, data, best}], xTitle, yTitle, stacked, xLinear} */
	function config(spec) {
		var datasets = spec.datasets.map(function (d, i) {
			var c = palette[i % palette.length];
			var o = { label: d.label, data: d.data, backgroundColor: c, borderColor: c };
			if (spec.type === 'line') {
				o.borderWidth = 2;
				o.pointRadius = d.data.length > 40 ? 0 : 3;
				o.fill = false;
			}
			if (d.best) {
				o.showLine = false;
				o.pointStyle = 'rectRot';
				o.pointRadius = 8;
				o.backgroundColor = '#d62728';
				o.borderColor = '#000';
			}
			return o;
		});
		var x = { title: { display: true, text: spec.xTitle }, stacked: spec.stacked };
		var y = { title: { display: true, text: spec.yTitle }, stacked: spec.stacked, beginAtZero: true };
		if (spec.xLinear) x.type = 'linear';
		return {
			type: spec.type,
			data: spec.xLinear ? { datasets: datasets } : { labels: spec.labels, datasets: datasets },
			options: {
				animation: false, responsive: true, maintainAspectRatio: false,
				interaction: { mode: 'nearest', intersect: false },
				scales: { x: x, y: y },
				plugins: { legend: { display: datasets.length > 1 } }
			}
		};
	}

	var data = JSON.parse(document.getElementById('report-data').textContent);
	data.charts.forEach(function (spec) {
		var canvas = document.getElementById(spec.id);
		try {
			new Chart(canvas, config(spec));
			var r = canvas.getBoundingClientRect();
			status.charts.push({ id: spec.id, x: Math.round(r.left + window.scrollX),
					     y: Math.round(r.top + window.scrollY), w: Math.round(r.width),
					     h: Math.round(r.height) });
		} catch (e) {
			status.errors.push(spec.id + ': ' + e.message);
		}
	});

	/* sortable tables: numbers (class n, value in data-v) or text; empty last */
	function key(td) { return td.hasAttribute('data-v') ? td.getAttribute('data-v') : td.textContent; }
	function sortBy(table, col, th) {
		var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
		var num = th.classList.contains('n');
		Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute('aria-sort'); });
		th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
		var body = table.tBodies[0];
		var rows = Array.prototype.slice.call(body.rows);
		rows.sort(function (a, b) {
			var p = key(a.cells[col]), q = key(b.cells[col]);
			if (p === '' || q === '') return p === q ? 0 : p === '' ? 1 : -1;
			return (num ? Number(p) - Number(q) : p.localeCompare(q)) * dir;
		});
		rows.forEach(function (r) { body.appendChild(r); });
	}
	Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
		Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
			th.tabIndex = 0;
			th.addEventListener('click', function () { sortBy(table, col, th); });
			th.addEventListener('keydown', function (e) {
				if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, col, th); }
			});
		});
	});

	status.resources = performance.getEntriesByType('resource').length;
	status.ok = status.errors.length === 0;
	publish();
})();
