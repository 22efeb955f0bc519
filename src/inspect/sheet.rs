//! Contact sheets: a grid of thumbnails, each tile labelled with its item number in
//! a small built-in digit font (no font files needed), for the office's digest.

use image::{DynamicImage, Rgb, RgbImage};

const TILE: u32 = 160;
const LABEL: u32 = 18;
const GAP: u32 = 6;

/// 3 × 5 bitmaps of the digits 0–9, one row per 3 bits.
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

fn draw_number(img: &mut RgbImage, n: i64, x0: u32, y0: u32) {
    let scale = 3;
    for (i, ch) in n.to_string().chars().enumerate() {
        let Some(d) = ch.to_digit(10) else { continue };
        for (row, bits) in DIGITS[d as usize].iter().enumerate() {
            for col in 0..3u32 {
                if bits & (0b100 >> col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let (x, y) = (x0 + i as u32 * 4 * scale + col * scale + dx, y0 + row as u32 * scale + dy);
                            if x < img.width() && y < img.height() {
                                img.put_pixel(x, y, Rgb([20, 20, 20]));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A JPEG grid of `tiles` (label, thumbnail), `columns` wide.
pub fn contact_sheet(tiles: &[(i64, DynamicImage)], columns: u32) -> Vec<u8> {
    let columns = columns.max(1).min(tiles.len().max(1) as u32);
    let rows = (tiles.len() as u32).div_ceil(columns).max(1);
    let (w, h) = (columns * (TILE + GAP) + GAP, rows * (TILE + LABEL + GAP) + GAP);
    let mut sheet = RgbImage::from_pixel(w, h, Rgb([245, 245, 245]));
    for (i, (label, thumb)) in tiles.iter().enumerate() {
        let (cx, cy) = (i as u32 % columns, i as u32 / columns);
        let (x0, y0) = (GAP + cx * (TILE + GAP), GAP + cy * (TILE + LABEL + GAP));
        let t = super::photo::resize(thumb, TILE).to_rgb8();
        let (ox, oy) = (x0 + (TILE - t.width()) / 2, y0 + (TILE - t.height()) / 2);
        image::imageops::overlay(&mut sheet, &t, i64::from(ox), i64::from(oy));
        draw_number(&mut sheet, *label, x0 + 2, y0 + TILE + 2);
    }
    let mut out = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&sheet);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_with_labels() {
        let tiles: Vec<(i64, DynamicImage)> = (0..5).map(|i| (i + 10, DynamicImage::ImageRgb8(RgbImage::from_pixel(320, 240, Rgb([200, 30 * i as u8, 40]))))).collect();
        let jpeg = contact_sheet(&tiles, 3);
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (3 * (TILE + GAP) + GAP, 2 * (TILE + LABEL + GAP) + GAP));
        // The label band under the first tile has dark digit pixels.
        let band = img.to_rgb8();
        let dark = (0..TILE).flat_map(|x| (0..LABEL).map(move |y| (x + GAP, y + GAP + TILE))).filter(|&(x, y)| band.get_pixel(x, y)[0] < 100).count();
        assert!(dark > 20, "{dark}");
    }
}
