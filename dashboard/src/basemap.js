// The map's background when no tile server is configured: land and country borders from
// Natural Earth (public domain, via world-atlas), bundled with the gateway as
// /assets/basemap.json (made by dashboard/tools/basemap.js), over a sea colour. Nothing is
// fetched from anywhere but the gateway.
import L from 'leaflet';
import { feature, mesh } from 'topojson-client';

const LAND = '#f4f2ec';
const BORDER = '#9ba3ab';

// Natural Earth's rings that cross the antimeridian (Chukotka, Fiji) jump from +180° to -180°;
// on a flat map such a jump is a line across the whole world. Unwrapped, their longitudes run
// on past 180° instead. A ring round a pole (Antarctica) ends 360° from where it started: it
// closes along the map's bottom edge and is drawn as it is.
export function unwrapRing(ring) {
  const out = [ring[0]];
  let offset = 0;
  let sum = ring[0][0];
  for (let i = 1; i < ring.length; i++) {
    const delta = ring[i][0] - ring[i - 1][0];
    if (delta > 180) offset -= 360;
    else if (delta < -180) offset += 360;
    out.push([ring[i][0] + offset, ring[i][1]]);
    sum += ring[i][0] + offset;
  }
  if (offset !== 0) return ring;
  // Keep most of the ring on the world the stations are on (-180°..180°).
  const mean = sum / ring.length;
  const shift = mean > 180 ? -360 : mean < -180 ? 360 : 0;
  return shift === 0 ? out : out.map(([lon, lat]) => [lon + shift, lat]);
}

function unwrapGeometry(geometry) {
  if (geometry.type === 'Polygon') {
    return { ...geometry, coordinates: geometry.coordinates.map(unwrapRing) };
  }
  if (geometry.type === 'MultiPolygon') {
    return { ...geometry, coordinates: geometry.coordinates.map((p) => p.map(unwrapRing)) };
  }
  return geometry;
}

// Resolves once land and borders are on the map (the container gets data-basemap="land");
// rejects when the gateway was built without the base map (the plain grid stays).
export async function drawBasemap(map) {
  const response = await fetch('/assets/basemap.json');
  if (!response.ok) throw new Error(`no base map (${response.status})`);
  const world = await response.json();
  const land = feature(world, world.objects.land);
  const features = land.type === 'FeatureCollection' ? land.features : [land];

  // Its own pane: above tiles (200; there are none) and below paths (400) and markers (600).
  map.createPane('basemap').style.zIndex = '250';
  const common = { pane: 'basemap', interactive: false };
  L.geoJSON(features.map((f) => ({ ...f, geometry: unwrapGeometry(f.geometry) })), {
    ...common, className: 'basemap-land', stroke: false, fillColor: LAND, fillOpacity: 1,
  }).addTo(map);
  // Borders between two countries only; coastlines are the land's edge.
  L.geoJSON(mesh(world, world.objects.countries, (a, b) => a !== b), {
    ...common, className: 'basemap-border', color: BORDER, weight: 1, opacity: 1, fill: false,
  }).addTo(map);
  map.attributionControl.addAttribution('Natural Earth');
  map.getContainer().dataset.basemap = 'land';
}
