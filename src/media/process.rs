//! Turning an upload into what readers are served: decoded within limits read from its header
//! first, turned upright by its EXIF orientation, and encoded afresh, so that nothing of the
//! original file (EXIF with GPS, XMP, ICC profiles and comments, a polyglot's second meaning)
//! reaches a reader. Renditions at fixed widths, a social card cropped around the focal point,
//! and a BlurHash placeholder.
//!
//! Decoding holds a whole image in memory, so at most [`DECODES`] run at once on a node, uploads
//! and the background job together.

use std::io::Cursor;
use std::sync::{Condvar, Mutex};

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::media::sniff::Kind;

/// The widths renditions are made at; never wider than the image.
pub const WIDTHS: [u32; 5] = [320, 640, 960, 1280, 1920];
/// The width of the rendition an item's `image.url` names, or the widest below it.
pub const DEFAULT_WIDTH: u32 = 1280;
/// The social card's size.
pub const SOCIAL: (u32, u32) = (1200, 630);
const JPEG_QUALITY: u8 = 82;
const WEBP_QUALITY: f32 = 78.0;

/// What an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_pixels: u64,
    pub max_side: u32,
}

/// How many images a node decodes at once.
pub const DECODES: usize = 2;

struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

static PERMITS: Permits = Permits {
    free: Mutex::new(DECODES),
    freed: Condvar::new(),
};

/// One of the [`DECODES`] permits, held while an image is in memory.
pub struct Permit(());

impl Permit {
    /// Waits for a permit. Call off the async executor.
    pub fn take() -> Permit {
        let mut free = PERMITS.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = PERMITS.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut free = PERMITS.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        PERMITS.freed.notify_one();
    }
}

/// An upload decoded and turned upright, as 8-bit RGB or RGBA.
pub struct Decoded {
    pub image: DynamicImage,
    pub alpha: bool,
}

impl Decoded {
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

fn too_large(detail: String) -> AppError {
    AppError::PayloadTooLarge(detail)
}

/// Decodes `bytes` (already sniffed as `kind`): its size is read from the header and checked
/// against `bounds` before any pixel is decoded, and the decoder may allocate no more than the
/// largest image allowed needs. 413 for an image over the bounds, 422 for one that does not
/// decode.
pub fn decode(bytes: &[u8], kind: Kind, bounds: Bounds) -> AppResult<Decoded> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(bounds.max_side);
    limits.max_image_height = Some(bounds.max_side);
    // Four bytes a pixel (RGBA8) for the largest image allowed, and room for the decoder's own
    // buffers; a 16-bit image of that size is refused.
    limits.max_alloc = Some(bounds.max_pixels * 4 + 64 * 1024 * 1024);
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(kind.format());
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| refusal(e, bounds))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(AppError::invalid("file", "is an image without pixels"));
    }
    if w > bounds.max_side || h > bounds.max_side {
        return Err(too_large(format!(
            "the image is {w}×{h} pixels; its sides may be at most {} pixels",
            bounds.max_side
        )));
    }
    if u64::from(w) * u64::from(h) > bounds.max_pixels {
        return Err(too_large(format!(
            "the image is {w}×{h} pixels; at most {} megapixels are allowed",
            bounds.max_pixels / 1_000_000
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| refusal(e, bounds))?;
    image.apply_orientation(orientation);
    let alpha = image.color().has_alpha();
    let image = if alpha {
        DynamicImage::ImageRgba8(image.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.into_rgb8())
    };
    Ok(Decoded { image, alpha })
}

fn refusal(e: image::ImageError, bounds: Bounds) -> AppError {
    match e {
        image::ImageError::Limits(_) => too_large(format!(
            "the image is larger than allowed: sides of at most {} pixels, at most {} megapixels",
            bounds.max_side,
            bounds.max_pixels / 1_000_000
        )),
        other => AppError::invalid("file", format!("does not decode as an image: {other}")),
    }
}

/// A rendition as stored and listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rendition {
    /// Its file name under the media item's hash: `w640.webp`, `social-50-40.jpg`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Its media type.
    #[serde(rename = "type")]
    pub mime: String,
    pub bytes: u64,
}

/// A rendition made, with its bytes.
pub struct Made {
    pub rendition: Rendition,
    pub data: Vec<u8>,
}

fn resize(
    src: &DynamicImage,
    width: u32,
    height: u32,
    focal: Option<(f64, f64)>,
) -> AppResult<DynamicImage> {
    let mut dst = DynamicImage::new(width, height, src.color());
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if let Some(centre) = focal {
        options = options.fit_into_destination(Some(centre));
    }
    Resizer::new()
        .resize(src, &mut dst, &options)
        .map_err(|e| AppError::Internal(format!("resizing an image: {e}")))?;
    Ok(dst)
}

fn encode(image: &DynamicImage, format: &str) -> AppResult<(Vec<u8>, &'static str)> {
    let (w, h) = (image.width(), image.height());
    let failed = |e: image::ImageError| AppError::Internal(format!("encoding an image: {e}"));
    match format {
        "webp" => {
            let memory = match image {
                DynamicImage::ImageRgba8(px) => webp::Encoder::from_rgba(px.as_raw(), w, h),
                other => webp::Encoder::from_rgb(other.as_bytes(), w, h),
            }
            .encode_simple(false, WEBP_QUALITY)
            .map_err(|e| AppError::Internal(format!("encoding WebP: {e:?}")))?;
            Ok((memory.to_vec(), "image/webp"))
        }
        "png" => {
            let mut out = Vec::new();
            image
                .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
                .map_err(failed)?;
            Ok((out, "image/png"))
        }
        _ => {
            let mut out = Vec::new();
            let rgb = match image {
                DynamicImage::ImageRgb8(_) => std::borrow::Cow::Borrowed(image),
                other => std::borrow::Cow::Owned(DynamicImage::ImageRgb8(flatten(other))),
            };
            rgb.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out,
                JPEG_QUALITY,
            ))
            .map_err(failed)?;
            Ok((out, "image/jpeg"))
        }
    }
}

/// `image` on a white ground, for JPEG.
fn flatten(image: &DynamicImage) -> image::RgbImage {
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

fn made(name: String, image: &DynamicImage, format: &str) -> AppResult<Made> {
    let (data, mime) = encode(image, format)?;
    Ok(Made {
        rendition: Rendition {
            name,
            width: image.width(),
            height: image.height(),
            mime: mime.to_owned(),
            bytes: data.len() as u64,
        },
        data,
    })
}

/// The widths an image of `width` pixels gets renditions at: those of [`WIDTHS`] it reaches,
/// or its own width when it is narrower than all of them.
pub fn widths(width: u32) -> Vec<u32> {
    let fit: Vec<u32> = WIDTHS.into_iter().filter(|w| *w <= width).collect();
    if fit.is_empty() {
        vec![width]
    } else {
        fit
    }
}

/// The width of the rendition an item names by default.
pub fn default_width(width: u32) -> u32 {
    widths(width)
        .into_iter()
        .filter(|w| *w <= DEFAULT_WIDTH)
        .max()
        .unwrap_or(width.min(DEFAULT_WIDTH))
}

fn height_at(d: &Decoded, width: u32) -> u32 {
    ((u64::from(d.height()) * u64::from(width) + u64::from(d.width()) / 2) / u64::from(d.width()))
        .max(1) as u32
}

/// The formats every width is made in: WebP and JPEG, or WebP and PNG for an image with
/// transparency.
pub fn formats(alpha: bool) -> [&'static str; 2] {
    if alpha {
        ["webp", "png"]
    } else {
        ["webp", "jpg"]
    }
}

/// The rendition an item names by default: at [`default_width`], in JPEG (PNG with
/// transparency). Made while the upload waits, so that the item has a picture at once.
pub fn first(d: &Decoded) -> AppResult<Made> {
    let w = default_width(d.width());
    let format = formats(d.alpha)[1];
    let image = scaled(d, w)?;
    made(format!("w{w}.{format}"), &image, format)
}

fn scaled(d: &Decoded, w: u32) -> AppResult<std::borrow::Cow<'_, DynamicImage>> {
    if w == d.width() {
        return Ok(std::borrow::Cow::Borrowed(&d.image));
    }
    Ok(std::borrow::Cow::Owned(resize(
        &d.image,
        w,
        height_at(d, w),
        None,
    )?))
}

/// Every rendition at every width and format, widest first, each width resized from the one
/// above it. `have` names renditions already made, which are skipped.
pub fn all(
    d: &Decoded,
    have: &[String],
    mut keep: impl FnMut(Made) -> AppResult<()>,
) -> AppResult<()> {
    let mut widths = widths(d.width());
    widths.sort_unstable_by(|a, b| b.cmp(a));
    let mut above: Option<DynamicImage> = None;
    for w in widths {
        let h = height_at(d, w);
        let image = match &above {
            None if w == d.width() => d.image.clone(),
            None => resize(&d.image, w, h, None)?,
            Some(bigger) => resize(bigger, w, h, None)?,
        };
        for format in formats(d.alpha) {
            let name = format!("w{w}.{format}");
            if !have.contains(&name) {
                keep(made(name, &image, format)?)?;
            }
        }
        above = Some(image);
    }
    Ok(())
}

/// The social card's file name for a focal point.
pub fn social_name(focal: (f64, f64)) -> String {
    let pct = |v: f64| (v.clamp(0.0, 1.0) * 100.0).round() as u32;
    format!("social-{}-{}.jpg", pct(focal.0), pct(focal.1))
}

/// The social card: 1200×630 (or the largest such crop of a smaller image), cropped as near
/// the focal point's middle as the image allows, in JPEG.
pub fn social(d: &Decoded, focal: (f64, f64)) -> AppResult<Made> {
    let (sw, sh) = SOCIAL;
    let (w, h) = (u64::from(d.width()), u64::from(d.height()));
    // The largest size of the card's shape that fits in the image, at most the card's size.
    let scale_w = (w * u64::from(sh)).min(h * u64::from(sw));
    let width = (scale_w / u64::from(sh)).clamp(1, u64::from(sw)) as u32;
    let height = ((u64::from(width) * u64::from(sh)) / u64::from(sw)).max(1) as u32;
    let image = resize(&d.image, width, height, Some(focal))?;
    made(social_name(focal), &image, "jpg")
}

/// A BlurHash of the image (4×3 components, about 30 characters).
pub fn placeholder(d: &Decoded) -> AppResult<String> {
    let w = 32.min(d.width());
    let h = height_at(d, w);
    let small = resize(&d.image, w, h, None)?.into_rgba8();
    blurhash::encode(4, 3, w, h, small.as_raw())
        .map_err(|e| AppError::Internal(format!("blurhash: {e:?}")))
}
