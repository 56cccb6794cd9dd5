//! The media library, as an editor and an attacker use it: uploads with GPS in their EXIF,
//! focal points and texts in several languages, featured images and images in bodies, what
//! readers are served, and every kind of bad upload refused with nothing stored.

use std::time::{Duration, Instant};

use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use newsdesk::auth::Role;
use serde_json::{json, Value};

use crate::common::{Reply, TestApp};

/// What GPS data an upload's EXIF carries; no served byte may hold it.
const GPS_MARK: &[u8] = b"NEWSDESK-GPS-41.7151N-44.8271E";

/// An EXIF block (APP1) saying "rotate 90° clockwise to show" and carrying GPS data.
fn exif_with_gps() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    // IFD0: Orientation = 6, and the GPS IFD's offset (38).
    tiff.extend([0, 2]);
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend([0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend([0, 0, 0, 0]);
    // GPS IFD: latitude reference `N`, and a map datum text at offset 68.
    tiff.extend([0, 2]);
    tiff.extend([0x00, 0x01, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    let len = (GPS_MARK.len() + 1) as u8;
    tiff.extend([0x00, 0x12, 0, 2, 0, 0, 0, len, 0, 0, 0, 68]);
    tiff.extend([0, 0, 0, 0]);
    assert_eq!(tiff.len(), 68);
    tiff.extend(GPS_MARK);
    tiff.push(0);
    let mut app1 = vec![0xFF, 0xE1];
    let size = (2 + 6 + tiff.len()) as u16;
    app1.extend(size.to_be_bytes());
    app1.extend(b"Exif\x00\x00");
    app1.extend(tiff);
    app1
}

/// A `w`×`h` photo-like JPEG (a gradient with a bright block top left), optionally with
/// [`exif_with_gps`].
fn photo(w: u32, h: u32, exif: bool) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if x < w / 4 && y < h / 4 {
            image::Rgb([250, 250, 40])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 120])
        }
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut jpeg, 85,
        ))
        .unwrap();
    if exif {
        let app1 = exif_with_gps();
        jpeg.splice(2..2, app1);
    }
    jpeg
}

fn png_with_alpha(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| image::Rgba([10, 200, 90, (x % 256) as u8]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .unwrap();
    out
}

/// A multipart body of `parts` (name, file name, bytes).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "newsdesk-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
            ),
            None => body.extend(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend(*data);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let req = TestRequest::post()
        .uri("/api/v1/admin/media")
        .peer_addr("10.0.0.1:5000".parse().unwrap())
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
        .set_payload(body);
    app.call(req).await
}

/// Uploads `file` with `metadata` as a multipart form.
async fn upload_form(app: &TestApp, token: &str, file: &[u8], metadata: Option<Value>) -> Reply {
    let meta = metadata.map(|m| m.to_string());
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("file", Some("IMG_2041.jpg"), file)];
    if let Some(m) = &meta {
        parts.push(("metadata", None, m.as_bytes()));
    }
    let (ct, body) = multipart(&parts);
    upload(app, token, &ct, body).await
}

/// Waits until item `id` has every rendition; returns it.
async fn ready(app: &TestApp, token: &str, id: i64) -> Value {
    let started = Instant::now();
    loop {
        let item = app
            .get(&format!("/api/v1/admin/media/{id}"), Some(token))
            .await;
        assert_eq!(item.status, 200, "{}", item.body);
        match item.body["status"].as_str() {
            Some("ready") => return item.body,
            Some("failed") => panic!("renditions failed: {}", item.body),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "renditions never finished: {}",
            item.body
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fetches a rendition by the URL the API gave, through this node.
async fn fetch(
    app: &TestApp,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, header::HeaderMap, Vec<u8>) {
    let path = url
        .split_once("/media/")
        .map(|(_, p)| format!("/media/{p}"))
        .unwrap();
    let mut req = TestRequest::get().uri(&path);
    for (n, v) in headers {
        req = req.insert_header((*n, *v));
    }
    let service = actix_web::test::init_service(newsdesk::app::build_app(app.state.clone())).await;
    let res = actix_web::test::call_service(&service, req.to_request()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = actix_web::test::read_body(res).await.to_vec();
    (status, headers, body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under the test's media store.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        std::path::Path::new(&app.state.config.media_store),
        &mut out,
    );
    out
}

#[actix_web::test]
async fn a_phone_photo_goes_upright_loses_its_gps_and_is_told_in_each_language() {
    let (app, editor) = TestApp::newsroom().await;
    let contributor = app.token_for(Role::Contributor).await;
    let original = photo(2000, 1500, true);
    assert!(contains(&original, GPS_MARK));
    let up = upload_form(
        &app,
        &contributor,
        &original,
        Some(json!({
            "credit": "Nino Beridze",
            "translations": {"en": {"alt": "Lorries at the border", "caption": "The queue on Tuesday"}}
        })),
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let id = up.body["id"].as_i64().unwrap();
    // EXIF orientation 6: shown rotated, 1500 wide and 2000 high.
    assert_eq!(
        (up.body["width"].as_i64(), up.body["height"].as_i64()),
        (Some(1500), Some(2000))
    );
    assert_eq!(up.body["type"], "jpeg");
    assert!(up.body["placeholder"].as_str().unwrap().len() <= 1024);
    assert!(
        !up.body["url"].as_str().unwrap().is_empty(),
        "the first rendition comes with the answer"
    );
    // The same bytes again: the same item.
    let again = upload(&app, &contributor, "image/jpeg", original.clone()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], id);

    let item = ready(&app, &contributor, id).await;
    let names: Vec<&str> = item["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for w in [320, 640, 960, 1280] {
        assert!(names.contains(&format!("w{w}.webp").as_str()), "{names:?}");
        assert!(names.contains(&format!("w{w}.jpg").as_str()), "{names:?}");
    }
    // 1500 wide: never upscaled to 1920.
    assert!(!names.iter().any(|n| n.starts_with("w1920")), "{names:?}");
    assert!(names.contains(&"social-50-50.jpg"), "{names:?}");
    // No served byte carries the GPS data, nor any EXIF.
    for r in item["renditions"].as_array().unwrap() {
        let (status, headers, body) = fetch(&app, r["url"].as_str().unwrap(), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers.get("content-type").unwrap(),
            r["type"].as_str().unwrap()
        );
        assert_eq!(body.len() as u64, r["bytes"].as_u64().unwrap());
        assert!(
            !contains(&body, GPS_MARK),
            "{} carries the GPS data",
            r["name"]
        );
        assert!(!contains(&body, b"Exif\0\0"), "{} carries EXIF", r["name"]);
        let decoded = image::load_from_memory(&body).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (
                r["width"].as_u64().unwrap() as u32,
                r["height"].as_u64().unwrap() as u32
            )
        );
        if r["name"] != "social-50-50.jpg" {
            // Upright: taller than wide, and the bright corner now top right.
            assert!(decoded.height() > decoded.width());
            let px = decoded.to_rgb8();
            let corner = px.get_pixel(decoded.width() - 3, 3).0;
            assert!(
                corner[0] > 200 && corner[1] > 200 && corner[2] < 120,
                "{corner:?} in {}",
                r["name"]
            );
        }
    }
    // Serving: immutable, typed, never a page, ranges.
    let url = item["url"].as_str().unwrap();
    let (_, headers, whole) = fetch(&app, url, &[]).await;
    assert_eq!(
        headers.get("cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert!(headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");
    let (status, _, _) = fetch(&app, url, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    let (status, headers, part) = fetch(&app, url, &[("range", "bytes=10-19")]).await;
    assert_eq!(status, 206);
    assert_eq!(part, whole[10..20]);
    assert_eq!(
        headers.get("content-range").unwrap().to_str().unwrap(),
        format!("bytes 10-19/{}", whole.len())
    );
    let (status, headers, _) = fetch(
        &app,
        url,
        &[("range", &format!("bytes={}-", whole.len() + 5))],
    )
    .await;
    assert_eq!(status, 416);
    assert_eq!(
        headers.get("content-range").unwrap().to_str().unwrap(),
        format!("bytes */{}", whole.len())
    );
    // The original is never served, nor anything by a name of the client's choosing.
    let hash = item["hash"].as_str().unwrap();
    for path in [
        format!("/media/{hash}/original"),
        format!("/media/{hash}/../originals/{hash}"),
        format!("/media/{hash}/w640.svg"),
    ] {
        let (status, _, _) = fetch(&app, &path, &[]).await;
        assert_eq!(status, 404, "{path}");
    }

    // The editor sets the focal point and the Georgian and Russian texts.
    let etag = app
        .get(&format!("/api/v1/admin/media/{id}"), Some(&editor))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let changed = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/media/{id}"),
            &editor,
            &etag,
            Some(json!({
                "focal_point": {"x": 0.8, "y": 0.2},
                "translations": {
                    "ka": {"alt": "სატვირთოები საზღვარზე", "caption": "რიგი სამშაბათს"},
                    "ru": {"alt": "Грузовики на границе", "caption": "Очередь во вторник", "credit": "Нино Беридзе"}
                }
            })),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.body["translations"]["ru"]["alt"],
        "Грузовики на границе"
    );
    // Without If-Match, 428; with the old one, 412.
    let stale = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/media/{id}"),
            &editor,
            &etag,
            Some(json!({"credit": "x"})),
        )
        .await;
    assert_eq!(stale.status, 412);
    let item = ready(&app, &editor, id).await;
    assert!(
        item["social_image"]
            .as_str()
            .unwrap()
            .ends_with("/social-80-20.jpg"),
        "{}",
        item["social_image"]
    );

    // Attached to a story published in English and Russian.
    let story = app
        .publish_story(&editor, "en", "Border queues grow", &["georgia"])
        .await;
    app.publish_translation(&editor, story, "ru", "Очереди на границе растут")
        .await;
    let (_, story_etag) = {
        let r = app
            .get(&format!("/api/v1/admin/articles/{story}"), Some(&editor))
            .await;
        (r.body.clone(), r.header("etag").unwrap().to_owned())
    };
    let attached = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{story}"),
            &editor,
            &story_etag,
            Some(json!({"image": {"media_id": id, "captions": {"en": "Tuesday's queue at the crossing"}}})),
        )
        .await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    assert_eq!(attached.body["image"]["media_id"], id);

    let slug = app.slug_of(&editor, story, "ru").await;
    let page = app
        .get(&format!("/api/v1/articles/ru/{}", urlencode(&slug)), None)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let image = &page.body["image"];
    assert_eq!(image["alt"], "Грузовики на границе");
    assert_eq!(image["caption"], "Очередь во вторник");
    assert_eq!(image["credit"], "Нино Беридзе");
    assert_eq!(image["media_id"], id);
    assert_eq!(image["focal_point"], json!({"x": 0.8, "y": 0.2}));
    assert!(image["renditions"].as_array().unwrap().len() >= 8);
    assert!(image["url"].as_str().unwrap().starts_with("http"));
    assert!(image["width"].as_u64().is_some() && image["placeholder"].is_string());
    let en_slug = app.slug_of(&editor, story, "en").await;
    let en = app
        .get(&format!("/api/v1/articles/en/{en_slug}"), None)
        .await;
    assert_eq!(en.body["image"]["alt"], "Lorries at the border");
    assert_eq!(
        en.body["image"]["caption"], "Tuesday's queue at the crossing",
        "the story's own caption wins"
    );
    assert_eq!(en.body["image"]["credit"], "Nino Beridze");
    // Lists show it too, and search results from their cards show the same.
    let list = app.get("/api/v1/articles?lang=ru", None).await;
    assert_eq!(list.body["items"][0]["image"], *image, "{}", list.body);

    // A Georgian translation that shows the image in its text: srcset, size, Georgian alt.
    let made = app
        .post(
            &format!("/api/v1/admin/articles/{story}/translations/ka"),
            &editor,
            json!({"title": "რიგები საზღვარზე", "body": format!("<p>ტექსტი.</p><figure><img data-media-id=\"{id}\" alt=\"x\"><figcaption>რიგი</figcaption></figure>")}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let published = app
        .transition(&editor, story, "ka", json!({"status": "published"}))
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let ka_slug = app.slug_of(&editor, story, "ka").await;
    let ka = app
        .get(
            &format!("/api/v1/articles/ka/{}", urlencode(&ka_slug)),
            None,
        )
        .await;
    let body = ka.body["body"].as_str().unwrap();
    assert!(body.contains("srcset=\""), "{body}");
    assert!(body.contains("w640.webp 640w"), "{body}");
    assert!(body.contains("alt=\"სატვირთოები საზღვარზე\""), "{body}");
    assert!(
        body.contains("width=\"") && body.contains("height=\""),
        "{body}"
    );

    // Where it is used.
    let usage = app
        .get(&format!("/api/v1/admin/media/{id}/usage"), Some(&editor))
        .await;
    assert_eq!(usage.status, 200);
    let uses = usage.body["uses"].as_array().unwrap();
    assert!(uses
        .iter()
        .any(|u| u["as"] == "featured" && u["published"] == true));
    assert!(uses.iter().any(|u| u["as"] == "body" && u["lang"] == "ka"));
    let unused = app
        .get("/api/v1/admin/media?unused=true", Some(&editor))
        .await;
    assert_eq!(unused.body["items"].as_array().unwrap().len(), 0);
    let found = app
        .get(
            "/api/v1/admin/media?q=%D0%B3%D1%80%D1%83%D0%B7%D0%BE%D0%B2%D0%B8%D0%BA%D0%B8",
            Some(&editor),
        )
        .await;
    assert_eq!(found.body["items"][0]["id"], id, "{}", found.body);

    // A contributor may not delete what someone else shows; nor may anyone delete what a
    // published story shows, unless they insist.
    let etag = app
        .get(&format!("/api/v1/admin/media/{id}"), Some(&editor))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let other = app.token_for(Role::Contributor).await;
    let refused = app
        .send_if_match(
            Method::DELETE,
            &format!("/api/v1/admin/media/{id}"),
            &other,
            &etag,
            None,
        )
        .await;
    refused.problem(403);
    let used = app
        .send_if_match(
            Method::DELETE,
            &format!("/api/v1/admin/media/{id}"),
            &editor,
            &etag,
            None,
        )
        .await;
    used.problem(409);
    assert_eq!(used.body["articles"], json!([story]));
    let gone = app
        .send_if_match(
            Method::DELETE,
            &format!("/api/v1/admin/media/{id}?force=true"),
            &editor,
            &etag,
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    let page = app
        .get(&format!("/api/v1/articles/ru/{}", urlencode(&slug)), None)
        .await;
    assert!(page.body["image"].is_null(), "{}", page.body["image"]);
    let (status, _, _) = fetch(&app, url, &[]).await;
    assert_eq!(status, 404);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn transparency_is_kept_and_narrow_images_are_not_enlarged() {
    let (app, editor) = TestApp::newsroom().await;
    let up = upload(
        &app,
        &editor,
        "application/octet-stream",
        png_with_alpha(500, 300),
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(up.body["has_alpha"], true);
    let item = ready(&app, &editor, up.body["id"].as_i64().unwrap()).await;
    let names: Vec<&str> = item["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"w320.png") && names.contains(&"w320.webp"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("w640")), "{names:?}");
    assert!(item["url"].as_str().unwrap().ends_with("/w320.png"));
}

/// A PNG whose header claims `w`×`h` and whose data is a few bytes.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend(data);
        out.extend(&crc_input);
        out.extend(crc32(&crc_input).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[actix_web::test]
async fn bad_uploads_get_a_clear_answer_and_nothing_is_stored() {
    let app = TestApp::with(|c| c.media_max_upload_bytes = 20 * 1024 * 1024).await;
    app.seed_languages();
    let token = app.token_for(Role::Contributor).await;
    let jpeg = photo(64, 48, false);
    let gif: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let mut polyglot = gif.to_vec();
    polyglot.extend(b"*/=alert(document.domain);//");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a truncated JPEG", jpeg[..jpeg.len() / 2].to_vec(), 422),
        (
            "a PNG claiming 100,000 × 100,000",
            png_claiming(100_000, 100_000),
            413,
        ),
        (
            "a PNG that would decode to gigabytes",
            png_claiming(11_000, 11_000),
            413,
        ),
        (
            "an SVG with a script",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
            415,
        ),
        (
            "HTML named .png",
            b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>".to_vec(),
            415,
        ),
        ("a GIF/JS polyglot", polyglot, 415),
        (
            "PHP named .jpg",
            b"<?php echo system($_GET['c']); ?>".to_vec(),
            415,
        ),
        ("a PDF", b"%PDF-1.7\n1 0 obj<<>>endobj\n".to_vec(), 415),
        ("an empty file", Vec::new(), 422),
        ("a 25 MB upload", vec![0xFFu8; 25 * 1024 * 1024], 413),
    ];
    for (what, bytes, status) in cases {
        let (ct, body) = multipart(&[("file", Some("upload.png"), &bytes)]);
        let reply = upload(&app, &token, &ct, body).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        reply.problem(status);
    }
    let (ct, body) = multipart(&[("metadata", None, b"{}")]);
    let no_file = upload(&app, &token, &ct, body).await;
    no_file.problem(400);
    assert!(no_file.body["detail"].as_str().unwrap().contains("file"));
    let (ct, body) = multipart(&[
        ("file", Some("a.jpg"), &jpeg),
        ("file", Some("b.jpg"), &jpeg),
    ]);
    upload(&app, &token, &ct, body).await.problem(400);
    let (ct, body) = multipart(&[
        ("file", Some("a.jpg"), &jpeg),
        ("metadata", None, br#"{"focal_point": {"x": 3, "y": 0}}"#),
    ]);
    let bad_focal = upload(&app, &token, &ct, body).await;
    bad_focal.problem(422);
    let (ct, body) = multipart(&[
        ("file", Some("a.jpg"), &jpeg),
        (
            "metadata",
            None,
            br#"{"translations": {"xx": {"alt": "a"}}}"#,
        ),
    ]);
    let bad_lang = upload(&app, &token, &ct, body).await;
    bad_lang.problem(422);
    let (ct, body) = multipart(&[
        ("file", Some("a.jpg"), &jpeg),
        (
            "metadata",
            None,
            br#"{"translations": {"en": {"alt": "<img src=x onerror=alert(1)>"}}}"#,
        ),
    ]);
    upload(&app, &token, &ct, body).await.problem(422);
    // A declared length over the limit is refused before the body is read.
    let req = TestRequest::post()
        .uri("/api/v1/admin/media")
        .peer_addr("10.0.0.1:5000".parse().unwrap())
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .insert_header((header::CONTENT_TYPE, "image/jpeg"))
        .insert_header((header::CONTENT_LENGTH, "999999999"));
    app.call(req).await.problem(413);
    // Nothing of any of them was kept.
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    let list = app.get("/api/v1/admin/media", Some(&token)).await;
    assert_eq!(list.body["items"], json!([]));
    // Readers and partners cannot upload.
    let anonymous = TestRequest::post()
        .uri("/api/v1/admin/media")
        .insert_header((header::CONTENT_TYPE, "image/jpeg"))
        .set_payload(jpeg.clone());
    app.call(anonymous).await.problem(401);
}

#[actix_web::test]
async fn a_story_image_names_a_media_item_or_an_external_url() {
    let (app, editor) = TestApp::newsroom().await;
    let story = app.create_story(&editor, "en", "Images", &[]).await;
    let etag = app
        .get(&format!("/api/v1/admin/articles/{story}"), Some(&editor))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    for (image, field) in [
        (json!({"media_id": 999}), "image.media_id"),
        (json!({}), "image"),
        (
            json!({"media_id": 1, "url": "https://a.example/x.jpg"}),
            "image",
        ),
        (
            json!({"url": "https://a.example/x.jpg", "captions": {"zz": "c"}}),
            "image.captions.zz",
        ),
    ] {
        let reply = app
            .send_if_match(
                Method::PATCH,
                &format!("/api/v1/admin/articles/{story}"),
                &editor,
                &etag,
                Some(json!({"image": image})),
            )
            .await;
        reply.problem(422);
        assert!(
            reply.error_fields().contains(&field.to_owned()),
            "{image}: {}",
            reply.body
        );
    }
    let external = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{story}"),
            &editor,
            &etag,
            Some(json!({"image": {"url": "https://photos.example/a.jpg", "alt": "A", "credit": "C", "captions": {"ru": "Подпись"}}})),
        )
        .await;
    assert_eq!(external.status, 200, "{}", external.body);
    let published = app
        .transition(&editor, story, "en", json!({"status": "published"}))
        .await;
    assert_eq!(published.status, 200);
    let slug = app.slug_of(&editor, story, "en").await;
    let page = app.get(&format!("/api/v1/articles/en/{slug}"), None).await;
    let image = &page.body["image"];
    assert_eq!(image["url"], "https://photos.example/a.jpg");
    assert_eq!(image["renditions"], json!([]));
    assert!(image["media_id"].is_null() && image["width"].is_null());
    // Captions follow the served text's language: the English page has no caption.
    assert_eq!(image["caption"], "");
}

#[actix_web::test]
async fn the_demo_has_pictures_with_texts_in_five_languages() {
    let app = TestApp::new().await;
    newsdesk::tools::demo::seed(&app.state)
        .unwrap()
        .expect("a fresh demo");
    let token = app.token_for(Role::Editor).await;
    let list = app.get("/api/v1/admin/media", Some(&token)).await;
    let items = list.body["items"].as_array().unwrap();
    assert!(items.len() >= 4, "{}", list.body);
    for item in items {
        for lang in ["en", "ru", "ka", "hy", "az"] {
            assert!(
                !item["translations"][lang]["alt"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty(),
                "{lang}: {item}"
            );
            assert!(
                !item["translations"][lang]["caption"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty(),
                "{lang}: {item}"
            );
        }
        ready(&app, &token, item["id"].as_i64().unwrap()).await;
    }
    let page = app.get("/api/v1/articles?lang=hy", None).await;
    let with_image = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["image"]["media_id"].is_i64())
        .expect("an Armenian story with a picture");
    let alt = with_image["image"]["alt"].as_str().unwrap();
    assert!(
        alt.chars().any(|c| ('\u{0530}'..='\u{058F}').contains(&c)),
        "Armenian alt text: {alt}"
    );
}

/// The S3-compatible server the tests' set-up started (`.ci/s3-server`), if any. CI always has
/// one; elsewhere the S3 test says it was skipped.
fn s3_endpoint() -> Option<String> {
    match std::env::var("NEWSDESK_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI runs the S3 test: start .ci/s3-server and set NEWSDESK_TEST_S3_ENDPOINT"
            );
            eprintln!("skipped: NEWSDESK_TEST_S3_ENDPOINT is not set (see .ci/s3-server)");
            None
        }
    }
}

/// Sends one signed request to the S3 server.
fn s3_call(method: &str, url: &url::Url) -> newsdesk::http_client::Answer {
    use std::net::ToSocketAddrs;
    let host = url.host_str().unwrap().to_owned();
    let port = url.port_or_known_default().unwrap();
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path = format!("{path}?{q}");
    }
    let addrs: Vec<_> = (host.as_str(), port).to_socket_addrs().unwrap().collect();
    let target = newsdesk::http_client::Target {
        https: false,
        host,
        port,
        path,
    };
    newsdesk::http_client::request(
        method,
        &target,
        &addrs,
        &[],
        &[],
        Duration::from_secs(10),
        1 << 20,
    )
    .unwrap()
}

/// Every key in `bucket`.
fn s3_keys(bucket: &rusty_s3::Bucket, credentials: &rusty_s3::Credentials) -> Vec<String> {
    use rusty_s3::S3Action;
    let list = bucket.list_objects_v2(Some(credentials));
    let answer = s3_call("GET", &list.sign(Duration::from_secs(60)));
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    rusty_s3::actions::ListObjectsV2::parse_response(std::str::from_utf8(&answer.body).unwrap())
        .unwrap()
        .contents
        .into_iter()
        .map(|c| c.key)
        .collect()
}

#[actix_web::test]
async fn the_same_flow_works_with_an_s3_compatible_store() {
    use rusty_s3::S3Action;
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let name = format!(
        "newsdesk-{}",
        newsdesk::auth::random_token(6).to_lowercase()
    );
    let bucket = rusty_s3::Bucket::new(
        url::Url::parse(&endpoint).unwrap(),
        rusty_s3::UrlStyle::Path,
        name.clone(),
        "us-east-1",
    )
    .unwrap();
    let credentials = rusty_s3::Credentials::new("test", "test");
    let made = s3_call(
        "PUT",
        &bucket
            .create_bucket(&credentials)
            .sign(Duration::from_secs(60)),
    );
    assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));

    let app = TestApp::with(|c| {
        c.media_store = format!("s3://{name}/newsroom");
        c.media_s3.endpoint = Some(endpoint.clone());
        c.media_s3.access_key_id = Some("test".into());
        c.media_s3.secret_access_key = Some("test".into());
    })
    .await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    // Refused uploads leave nothing in the bucket.
    let (ct, body) = multipart(&[(
        "file",
        Some("x.svg"),
        b"<svg><script>alert(1)</script></svg>",
    )]);
    upload(&app, &editor, &ct, body).await.problem(415);
    upload(&app, &editor, "image/png", png_claiming(100_000, 100_000))
        .await
        .problem(413);
    assert_eq!(s3_keys(&bucket, &credentials), Vec::<String>::new());

    let up = upload_form(
        &app,
        &editor,
        &photo(1400, 1000, true),
        Some(json!({"translations": {"ru": {"alt": "Граница"}}})),
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let id = up.body["id"].as_i64().unwrap();
    let hash = up.body["hash"].as_str().unwrap().to_owned();
    let item = ready(&app, &editor, id).await;
    let keys = s3_keys(&bucket, &credentials);
    assert!(
        keys.contains(&format!("newsroom/originals/{hash}")),
        "{keys:?}"
    );
    assert!(
        keys.contains(&format!("newsroom/renditions/{hash}/w640.webp")),
        "{keys:?}"
    );
    // Served through the node, from the bucket, without the GPS data.
    for r in item["renditions"].as_array().unwrap() {
        let (status, _, body) = fetch(&app, r["url"].as_str().unwrap(), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(body.len() as u64, r["bytes"].as_u64().unwrap());
        assert!(!contains(&body, GPS_MARK));
    }
    // The original in the bucket is the upload itself, kept privately.
    let original = s3_call(
        "GET",
        &bucket
            .get_object(Some(&credentials), &format!("newsroom/originals/{hash}"))
            .sign(Duration::from_secs(60)),
    );
    assert!(contains(&original.body, GPS_MARK));

    let story = app.publish_story(&editor, "ru", "Граница", &[]).await;
    let etag = app
        .get(&format!("/api/v1/admin/articles/{story}"), Some(&editor))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let attached = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{story}"),
            &editor,
            &etag,
            Some(json!({"image": {"media_id": id}})),
        )
        .await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    let slug = app.slug_of(&editor, story, "ru").await;
    let page = app
        .get(&format!("/api/v1/articles/ru/{}", urlencode(&slug)), None)
        .await;
    assert_eq!(page.body["image"]["alt"], "Граница");

    let etag = app
        .get(&format!("/api/v1/admin/media/{id}"), Some(&editor))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let gone = app
        .send_if_match(
            Method::DELETE,
            &format!("/api/v1/admin/media/{id}?force=true"),
            &editor,
            &etag,
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(s3_keys(&bucket, &credentials), Vec::<String>::new());
}
