#!/usr/bin/env node
// The dashboard's offline base map (drawn when no tile server is configured): Natural Earth's
// 1:10m countries from world-atlas, simplified to about the size of its 1:50m file. Run by
// cmake/Dashboard.cmake at build time; the output is embedded into the gateway and served as
// /assets/basemap.json.
//
//   node basemap.js <world-atlas countries-10m.json> <output.json> [min weight, steradians]
//
// Why not countries-50m.json as it is: its coastlines are generalized so far that the quick
// start's main station (emart Jeju, 38 Tapdong-ro, 33.5153 N 126.5225 E, on the waterfront)
// lies 1 km out at sea (its Jeju is a 17-point polygon whose north coast is at 33.506 N there).
// 1:10m simplified (Visvalingam) to a minimum triangle area of 5e-7 sr (about 20 km²) keeps
// the vertices it keeps where they are: Jeju's north coast stays at 33.5255 N, and the file is
// the same size as the 1:50m one (0.76 MB, 71,000 points).
// The output is a TopoJSON topology with the same objects as the input (countries, land),
// quantized like world-atlas's own files.
'use strict';
const fs = require('fs');
const { quantize } = require('topojson-client');
const { presimplify, simplify, sphericalTriangleArea } = require('topojson-simplify');

const [input, output, weightText] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: basemap.js <countries-10m.json> <output.json> [min weight]');
  process.exit(2);
}
const minWeight = weightText === undefined ? 5e-7 : Number(weightText);
let topology = JSON.parse(fs.readFileSync(input, 'utf8'));
if (minWeight > 0) {
  topology = simplify(presimplify(topology, sphericalTriangleArea), minWeight);
}
// Quantized arcs are delta-encoded integers, far smaller than decimal degrees (world-atlas's
// files are quantized already, so with no simplification this keeps them as they are).
if (!topology.transform) topology = quantize(topology, 1e5);
fs.writeFileSync(output, JSON.stringify(topology));
