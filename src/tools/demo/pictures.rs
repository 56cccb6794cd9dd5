//! The demo's photographs, drawn by the demo itself: a sky, a sun, mountain ridges and what the
//! story is about in front of them, as a JPEG that goes through the media library like any
//! upload. Nothing comes from anywhere else.

use image::{Rgb, RgbImage};

/// What stands in front of the mountains.
#[derive(Clone, Copy)]
pub enum Foreground {
    /// A road with lorries queueing on it.
    Road,
    /// City blocks with lit windows.
    City,
    /// The arches of a metro station.
    Arches,
    /// Power pylons and their lines.
    Pylons,
}

/// One picture: its colours, light and subject.
pub struct Scene {
    pub sky: [u8; 3],
    pub horizon: [u8; 3],
    /// Where the sun is, as fractions of the width and height.
    pub sun: (f32, f32),
    pub ridges: [[u8; 3]; 3],
    pub foreground: Foreground,
    /// Varies the ridges' shape.
    pub seed: f32,
}

/// The demo's picture size: large enough for every rendition below 1920 pixels.
pub const SIZE: (u32, u32) = (1600, 1000);

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let m = |x: u8, y: u8| (f32::from(x) * (1.0 - t) + f32::from(y) * t).round() as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

/// The height of ridge `layer` at `x` (0..1), as a fraction of the picture's height from the top.
fn ridge(x: f32, layer: usize, seed: f32) -> f32 {
    let l = layer as f32;
    let base = 0.42 + 0.12 * l;
    let wave = (x * (5.0 + l * 3.0) + seed * (l + 1.0)).sin() * 0.05
        + (x * (13.0 + l * 5.0) + seed * 2.3).sin() * 0.02
        + (x * (29.0 + l) + seed).sin() * 0.008;
    base + wave
}

/// Draws `scene` and encodes it as a JPEG.
pub fn draw(scene: &Scene) -> Vec<u8> {
    let (w, h) = SIZE;
    let (fw, fh) = (w as f32, h as f32);
    let ridges: Vec<Vec<u32>> = (0..3)
        .map(|layer| {
            (0..w)
                .map(|x| (ridge(x as f32 / fw, layer, scene.seed) * fh) as u32)
                .collect()
        })
        .collect();
    let (sx, sy) = (scene.sun.0 * fw, scene.sun.1 * fh);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let mut colour = mix(scene.sky, scene.horizon, y as f32 / (fh * 0.6));
        let d = ((x as f32 - sx).powi(2) + (y as f32 - sy).powi(2)).sqrt();
        if d < fh * 0.16 {
            let glow = 1.0 - d / (fh * 0.16);
            colour = mix(colour, [255, 236, 190], glow * glow);
        }
        for (layer, tops) in ridges.iter().enumerate() {
            if y >= tops[x as usize] {
                let depth = (y - tops[x as usize]) as f32 / fh;
                colour = mix(scene.ridges[layer], [20, 24, 30], depth * 0.8);
            }
        }
        Rgb(colour)
    });
    foreground(&mut img, scene.foreground);
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 88,
        ))
        .expect("a JPEG is encoded into memory");
    out
}

fn rect(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, colour: [u8; 3]) {
    let (iw, ih) = img.dimensions();
    for y in y0.min(ih)..(y0 + h).min(ih) {
        for x in x0.min(iw)..(x0 + w).min(iw) {
            img.put_pixel(x, y, Rgb(colour));
        }
    }
}

fn foreground(img: &mut RgbImage, kind: Foreground) {
    let (w, h) = img.dimensions();
    match kind {
        Foreground::Road => {
            rect(img, 0, h * 82 / 100, w, h * 7 / 100, [70, 70, 74]);
            rect(img, 0, h * 855 / 1000, w, h / 200, [230, 220, 150]);
            let colours = [
                [196, 62, 48],
                [232, 232, 226],
                [52, 98, 160],
                [222, 160, 40],
            ];
            for i in 0..9u32 {
                let x = 60 + i * 170;
                let c = colours[i as usize % colours.len()];
                rect(img, x, h * 74 / 100, 120, h * 9 / 100, c);
                rect(img, x + 120, h * 77 / 100, 36, h * 6 / 100, [40, 44, 52]);
            }
        }
        Foreground::City => {
            for i in 0..16u32 {
                let bw = 70 + (i * 37) % 50;
                let bh = h * (22 + (i * 13) % 25) / 100;
                let x = i * 100;
                rect(img, x, h - bh, bw, bh, [58 + (i * 7 % 30) as u8, 62, 78]);
                for row in 0..bh / 40 {
                    for col in 0..bw / 24 {
                        if (row * 7 + col * 3 + i) % 4 != 0 {
                            rect(
                                img,
                                x + 8 + col * 24,
                                h - bh + 12 + row * 40,
                                10,
                                16,
                                [250, 214, 120],
                            );
                        }
                    }
                }
            }
        }
        Foreground::Arches => {
            rect(img, 0, h * 62 / 100, w, h * 38 / 100, [188, 176, 160]);
            for i in 0..6u32 {
                let cx = (i * 2 + 1) * w / 12;
                for y in h * 66 / 100..h {
                    for x in cx.saturating_sub(90)..(cx + 90).min(w) {
                        let dx = x as f32 - cx as f32;
                        let top =
                            h as f32 * 0.74 - (90.0f32.powi(2) - dx * dx).max(0.0).sqrt() * 0.8;
                        if y as f32 >= top {
                            img.put_pixel(x, y, Rgb([34, 30, 38]));
                        }
                    }
                }
            }
            rect(img, 0, h * 93 / 100, w, h * 7 / 100, [120, 110, 100]);
        }
        Foreground::Pylons => {
            for i in 0..4u32 {
                let x = 150 + i * 420;
                let top = h * (50 + i * 5) / 100;
                rect(img, x, top, 14, h - top, [44, 48, 56]);
                rect(img, x - 60, top + 20, 134, 10, [44, 48, 56]);
                rect(img, x - 40, top + 70, 94, 8, [44, 48, 56]);
            }
            for x in 0..w {
                let sag = ((x % 420) as f32 / 420.0 * std::f32::consts::PI).sin() * 40.0;
                for line in 0..3u32 {
                    let y = (h as f32 * 0.56 + line as f32 * 28.0 + sag) as u32;
                    rect(img, x, y, 1, 3, [30, 30, 34]);
                }
            }
        }
    }
}
