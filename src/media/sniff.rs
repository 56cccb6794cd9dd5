//! What an upload is, told from its bytes alone: the name a user gave and the type they
//! declared are never trusted. An upload is one of the four image types Newsdesk serves, whole
//! (a truncated file is refused), with nothing after the image's end (the place a GIF/JS or
//! PNG/HTML polyglot keeps its second meaning), and with no markup or script anywhere in it.

use crate::error::{AppError, AppResult};

/// An image type Newsdesk accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Gif => "gif",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif]
            .into_iter()
            .find(|k| k.name() == name)
    }

    pub fn format(self) -> image::ImageFormat {
        match self {
            Kind::Jpeg => image::ImageFormat::Jpeg,
            Kind::Png => image::ImageFormat::Png,
            Kind::Webp => image::ImageFormat::WebP,
            Kind::Gif => image::ImageFormat::Gif,
        }
    }
}

/// Markup and script that no image holds and a browser or PHP would act on. Compared without
/// regard to case.
const MARKERS: &[&[u8]] = &[
    b"<script",
    b"<?php",
    b"<html",
    b"<svg",
    b"<iframe",
    b"<body",
    b"<!doctype",
    b"<object",
    b"<embed",
    b"javascript:",
];

fn unsupported(detail: &str) -> AppError {
    AppError::UnsupportedMediaType(format!(
        "{detail}; uploads must be JPEG, PNG, WebP or GIF images"
    ))
}

fn broken(detail: impl Into<String>) -> AppError {
    AppError::invalid("file", detail)
}

/// The type of `bytes`, when they are a whole image of a type Newsdesk accepts and nothing
/// else: 415 for anything else (SVG, HTML, PDF, a script, a polyglot), 422 for an image that
/// is cut short or malformed.
pub fn sniff(bytes: &[u8]) -> AppResult<Kind> {
    if bytes.is_empty() {
        return Err(broken("is empty"));
    }
    let kind = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Kind::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Kind::Png
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Kind::Gif
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Kind::Webp
    } else {
        return Err(unsupported("the file is not an image Newsdesk accepts"));
    };
    if let Some(marker) = markup(bytes) {
        return Err(unsupported(&format!(
            "the file holds `{}`, markup or script that no image holds",
            String::from_utf8_lossy(marker)
        )));
    }
    let end = match kind {
        Kind::Jpeg => jpeg_end(bytes)?,
        Kind::Png => png_end(bytes)?,
        Kind::Gif => gif_end(bytes)?,
        Kind::Webp => webp_end(bytes)?,
    };
    // Cameras append data after a JPEG's end (a phone's motion photo, a maker's trailer), so a
    // JPEG may carry it; it is never served. The other types end where they say.
    if kind != Kind::Jpeg && end < bytes.len() {
        return Err(unsupported(&format!(
            "the file goes on for {} bytes after the image ends",
            bytes.len() - end
        )));
    }
    Ok(kind)
}

/// The first marker of [`MARKERS`] in `bytes`: every one starts with `<` or a `j` of either case.
fn markup(bytes: &[u8]) -> Option<&'static [u8]> {
    memchr::memchr3_iter(b'<', b'j', b'J', bytes).find_map(|at| {
        let rest = &bytes[at..];
        MARKERS
            .iter()
            .copied()
            .find(|m| rest.len() >= m.len() && rest[..m.len()].eq_ignore_ascii_case(m))
    })
}

/// Where a JPEG's entropy-coded data ends (after its EOI marker); 422 when the file stops
/// before it.
fn jpeg_end(bytes: &[u8]) -> AppResult<usize> {
    let mut at = 2;
    // Marker segments up to the first scan.
    loop {
        let Some(&[0xFF, marker]) = bytes.get(at..at + 2) else {
            return Err(broken("is a JPEG cut short before its image data"));
        };
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xD9 {
            return Err(broken("is a JPEG without image data"));
        }
        let Some(len) = bytes
            .get(at + 2..at + 4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return Err(broken("is a JPEG cut short in its headers"));
        };
        at += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    // The scans: the end is the first EOI that is a marker (0xFF 0xD9 outside stuffed bytes).
    let mut i = at;
    while let Some(p) = memchr::memchr(0xFF, &bytes[i.min(bytes.len())..]) {
        let p = i + p;
        match bytes.get(p + 1) {
            Some(0xD9) => return Ok(p + 2),
            Some(_) => i = p + 1,
            None => break,
        }
    }
    Err(broken("is a JPEG cut short: it has no end marker"))
}

/// Where a PNG ends (after its IEND chunk).
fn png_end(bytes: &[u8]) -> AppResult<usize> {
    let mut at = 8;
    loop {
        let Some(head) = bytes.get(at..at + 8) else {
            return Err(broken("is a PNG cut short: it has no IEND chunk"));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = at
            .checked_add(12)
            .and_then(|e| e.checked_add(len))
            .ok_or_else(|| broken("is a malformed PNG"))?;
        if end > bytes.len() {
            return Err(broken("is a PNG cut short in a chunk"));
        }
        if &head[4..8] == b"IEND" {
            return Ok(end);
        }
        at = end;
    }
}

/// Where a GIF ends (after its trailer).
fn gif_end(bytes: &[u8]) -> AppResult<usize> {
    let cut = || broken("is a GIF cut short: it has no trailer");
    let flags = *bytes.get(10).ok_or_else(cut)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    let sub_blocks = |mut at: usize| -> AppResult<usize> {
        loop {
            let size = usize::from(*bytes.get(at).ok_or_else(cut)?);
            at += 1;
            if size == 0 {
                return Ok(at);
            }
            at += size;
        }
    };
    loop {
        match bytes.get(at).copied().ok_or_else(cut)? {
            0x3B => return Ok(at + 1),
            0x21 => at = sub_blocks(at + 2)?,
            0x2C => {
                let flags = *bytes.get(at + 9).ok_or_else(cut)?;
                at += 10;
                if flags & 0x80 != 0 {
                    at += 3 << ((flags & 0x07) + 1);
                }
                // The LZW minimum code size, then the image data.
                at = sub_blocks(at + 1)?;
            }
            _ => return Err(broken("is a malformed GIF")),
        }
    }
}

/// Where a WebP ends, by its RIFF header's size.
fn webp_end(bytes: &[u8]) -> AppResult<usize> {
    let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let end = size + 8 + (size & 1);
    if end > bytes.len() {
        return Err(broken("is a WebP cut short"));
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(bytes: &[u8]) -> u16 {
        match sniff(bytes) {
            Ok(_) => 200,
            Err(e) => actix_web::ResponseError::status_code(&e).as_u16(),
        }
    }

    /// A 1×1 GIF.
    const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

    #[test]
    fn whole_images_pass_and_everything_else_is_refused() {
        assert_eq!(sniff(GIF).unwrap(), Kind::Gif);
        assert_eq!(
            status(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
            415
        );
        assert_eq!(status(b"%PDF-1.7\n"), 415);
        assert_eq!(status(b"<?php system($_GET['c']); ?>"), 415);
        assert_eq!(status(b""), 422);
        // A GIF/JS polyglot: a valid GIF, then script after its trailer.
        let mut polyglot = GIF.to_vec();
        polyglot.extend_from_slice(b"*/=alert(document.domain);");
        assert_eq!(status(&polyglot), 415);
        // A GIF with HTML inside a comment extension.
        let mut html = GIF[..GIF.len() - 1].to_vec();
        html.extend_from_slice(b"\x21\xfe\x0f<ScRiPt>x</a>\x00;");
        assert_eq!(status(&html), 415);
        assert_eq!(status(&GIF[..GIF.len() - 1]), 422);
        assert_eq!(status(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]), 422);
    }
}
