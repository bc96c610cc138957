#!/usr/bin/env node
// Draws Gatehouse's icon — a blue shield with a white gate (an arch with a portcullis) — and writes the
// PNGs electron-builder and the tray use, plus a Windows .ico, into build/icons/. No image library: each
// size is rendered from the shape's geometry with 8×8 supersampling and written as RGBA PNG with zlib.
// The files are committed; re-run after changing the drawing: node build/make-icons.mjs

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "icons");

// --- PNG -------------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** RGBA pixels (Uint8Array, width*height*4) → PNG bytes. */
export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** PNG images → one .ico (PNG-compressed entries, Windows Vista and later). */
function encodeIco(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  const dir = Buffer.alloc(16 * images.length);
  let offset = 6 + dir.length;
  images.forEach(({ size, png }, i) => {
    const e = i * 16;
    dir[e] = size >= 256 ? 0 : size;
    dir[e + 1] = size >= 256 ? 0 : size;
    dir.writeUInt16LE(1, e + 4); // colour planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(png.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += png.length;
  });
  return Buffer.concat([header, dir, ...images.map((i) => i.png)]);
}

// --- Geometry (unit square, y down) ----------------------------------------------------------------

const HALF = 0.36;
function inShield(u, v, inset = 0) {
  const hw = HALF - inset;
  const dx = (u - 0.5) / HALF;
  const top = 0.07 + 0.05 * dx * dx + inset;
  if (v < top || v > 0.94 - inset * 1.6) return false;
  if (v <= 0.5) return Math.abs(u - 0.5) <= hw;
  const t = (v - 0.5) / (0.44 - inset * 1.6);
  return Math.abs(u - 0.5) <= hw * Math.cos((Math.min(t, 1) * Math.PI) / 2);
}
function inArch(u, v, inset = 0) {
  const left = 0.33 + inset;
  const right = 0.67 - inset;
  const bottom = 0.78;
  const spring = 0.45; // where the arch's curve starts
  const r = 0.17 - inset;
  if (v > bottom || u < left || u > right) return false;
  if (v >= spring) return true;
  return (u - 0.5) ** 2 + (v - spring) ** 2 <= r * r;
}
/** The portcullis: vertical bars and one cross bar inside the arch. */
function inBars(u, v) {
  const bars = [0.415, 0.5, 0.585];
  return bars.some((b) => Math.abs(u - b) <= 0.022) || Math.abs(v - 0.6) <= 0.02;
}

const lerp = (a, b, t) => Math.round(a + (b - a) * t);
function colourIcon(u, v) {
  if (!inShield(u, v)) return null;
  const rim = [23, 48, 110];
  if (!inShield(u, v, 0.035)) return rim;
  if (inArch(u, v)) {
    const white = [244, 247, 255];
    if (!inArch(u, v, 0.035)) return white;
    return inBars(u, v) ? white : [16, 34, 82];
  }
  const t = Math.min(1, Math.max(0, (v - 0.07) / 0.87));
  return [lerp(66, 31, t), lerp(122, 63, t), lerp(226, 143, t)];
}
/**
 * The macOS template image: black where the glyph is, transparent elsewhere (the OS colours it) — the
 * shield's outline with the gate inside, so that it reads at 16 px in a menu bar.
 */
function templateIcon(u, v) {
  if (!inShield(u, v)) return null;
  if (!inShield(u, v, 0.09)) return [0, 0, 0];
  if (inArch(u, v) && (!inArch(u, v, 0.06) || inBars(u, v))) return [0, 0, 0];
  return null;
}

function render(size, shade) {
  const SS = 8;
  const px = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const c = shade((x + (sx + 0.5) / SS) / size, (y + (sy + 0.5) / SS) / size);
          if (!c) continue;
          r += c[0];
          g += c[1];
          b += c[2];
          a += 1;
        }
      }
      const i = (y * size + x) * 4;
      if (a > 0) {
        px[i] = Math.round(r / a);
        px[i + 1] = Math.round(g / a);
        px[i + 2] = Math.round(b / a);
        px[i + 3] = Math.round((255 * a) / (SS * SS));
      }
    }
  }
  return encodePng(size, size, px);
}

// --- Files -----------------------------------------------------------------------------------------

export const APP_ICON_SIZES = [512, 256, 128, 64, 48, 32, 16];

function main() {
  mkdirSync(join(OUT, "tray"), { recursive: true });
  const pngs = new Map(APP_ICON_SIZES.map((s) => [s, render(s, colourIcon)]));
  for (const [size, png] of pngs) writeFileSync(join(OUT, `${size}x${size}.png`), png);
  writeFileSync(join(OUT, "icon.png"), pngs.get(512));
  writeFileSync(
    join(OUT, "icon.ico"),
    encodeIco([256, 128, 64, 48, 32, 16].map((size) => ({ size, png: pngs.get(size) }))),
  );
  writeFileSync(join(OUT, "tray", "trayTemplate.png"), render(16, templateIcon));
  writeFileSync(join(OUT, "tray", "trayTemplate@2x.png"), render(32, templateIcon));
  writeFileSync(join(OUT, "tray", "tray.png"), render(32, colourIcon));
  console.log(`icons written to ${OUT}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
