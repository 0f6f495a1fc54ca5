// A small SVG bar chart: one bar per day, the last one highlighted, with a hidden table for
// screen readers. Values are drawn as given; the caption lives in the page.
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// points: [{label: 'YYYY-MM-DD', value: number}], oldest first.
export function renderBarChart(container, points, { unit = '', format = (v) => String(v) } = {}) {
  const width = 600, height = 180, left = 44, bottom = 22, top = 8;
  const max = Math.max(1e-9, ...points.map((p) => p.value));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'bar-chart',
                             role: 'img', 'aria-hidden': 'true' });
  const plotH = height - bottom - top;
  const step = (width - left) / Math.max(1, points.length);
  // Axis: zero and the maximum.
  for (const [value, y] of [[0, top + plotH], [max, top]]) {
    chart.append(svg('line', { x1: left, x2: width, y1: y, y2: y, stroke: '#d0d7de' }));
    const label = svg('text', { x: left - 4, y: y + 3, 'text-anchor': 'end' });
    label.textContent = format(value);
    chart.append(label);
  }
  points.forEach((p, i) => {
    const h = (p.value / max) * plotH;
    const bar = svg('rect', { x: left + i * step + 1, y: top + plotH - h,
                              width: Math.max(1, step - 2), height: h,
                              class: i === points.length - 1 ? 'bar today' : 'bar' });
    const title = svg('title');
    title.textContent = `${p.label}: ${format(p.value)} ${unit}`.trim();
    bar.append(title);
    chart.append(bar);
    if (i % 7 === points.length % 7 || i === points.length - 1) {
      const last = i === points.length - 1;
      const label = svg('text', { x: last ? width : left + i * step + step / 2, y: height - 6,
                                  'text-anchor': last ? 'end' : 'middle' });
      label.textContent = p.label.slice(5);
      chart.append(label);
    }
  });
  const table = document.createElement('table');
  table.className = 'visually-hidden';
  for (const p of points) {
    const row = table.insertRow();
    row.insertCell().textContent = p.label;
    row.insertCell().textContent = `${format(p.value)} ${unit}`.trim();
  }
  container.replaceChildren(chart, table);
}
