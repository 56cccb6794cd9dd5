//! URL slugs: validated when given, generated from a title when not. Titles in Russian, Georgian,
//! Armenian and Azerbaijani become readable ASCII (`Грузия и Россия` → `gruziya-i-rossiya`,
//! `საქართველო` → `sakartvelo`), so a link reads the same in every client and log.

use serde::Serialize;

use crate::error::{AppError, AppResult};

pub const MAX_SLUG_LEN: usize = 96;

/// A slug known to be lowercase ASCII letters, digits and single inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str, field: &str) -> AppResult<Slug> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_SLUG_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if valid {
            Ok(Slug(raw.to_owned()))
        } else {
            Err(AppError::invalid(
                field,
                format!(
                    "a slug is 1 to {MAX_SLUG_LEN} lowercase ASCII letters, digits and single hyphens inside"
                ),
            ))
        }
    }

    /// A slug from free text, transliterated; `None` when nothing readable is left.
    pub fn from_text(text: &str) -> Option<Slug> {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().flat_map(char::to_lowercase).peekable();
        while let Some(c) = chars.next() {
            // Armenian writes "u" as two letters, ո + ւ.
            if c == 'ո' && chars.peek() == Some(&'ւ') {
                chars.next();
                out.push('u');
                continue;
            }
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if let Some(latin) = transliterate(c) {
                out.push_str(latin);
            } else if is_combining_mark(c) {
                // The dot of a lowercased Turkish/Azerbaijani İ, accents left by decomposed text.
            } else {
                out.push('-');
            }
        }
        let mut slug = String::with_capacity(out.len());
        for part in out.split('-').filter(|p| !p.is_empty()) {
            if slug.len() + part.len() + 1 > MAX_SLUG_LEN {
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(part);
        }
        if slug.is_empty() {
            // A single word longer than the limit: cut it.
            slug = out
                .split('-')
                .find(|p| !p.is_empty())?
                .chars()
                .take(MAX_SLUG_LEN)
                .collect();
        }
        Some(Slug(slug))
    }

    /// This slug with `-n` appended, shortened to stay within the limit.
    pub fn with_suffix(&self, n: u32) -> Slug {
        let suffix = format!("-{n}");
        let keep = MAX_SLUG_LEN - suffix.len();
        let base = if self.0.len() > keep {
            self.0[..keep].trim_end_matches('-')
        } else {
            &self.0
        };
        Slug(format!("{base}{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036f}').contains(&c)
}

/// Latin for one lowercase letter of the scripts the newsroom writes in.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        // Russian, with the letters Ukrainian and Azerbaijani Cyrillic add.
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'й' | 'ј' => "y",
        'к' | 'ҝ' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ү' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'э' | 'ә' => "e",
        'ю' => "yu",
        'я' => "ya",
        'є' => "ye",
        'ї' => "yi",
        'ғ' => "gh",
        'ҹ' => "j",
        'һ' => "h",
        // Georgian (Mkhedruli; Mtavruli capitals lowercase to these), national romanisation.
        'ა' => "a",
        'ბ' => "b",
        'გ' => "g",
        'დ' => "d",
        'ე' => "e",
        'ვ' => "v",
        'ზ' => "z",
        'თ' => "t",
        'ი' => "i",
        'კ' => "k",
        'ლ' => "l",
        'მ' => "m",
        'ნ' => "n",
        'ო' => "o",
        'პ' => "p",
        'ჟ' => "zh",
        'რ' => "r",
        'ს' => "s",
        'ტ' => "t",
        'უ' => "u",
        'ფ' => "p",
        'ქ' => "k",
        'ღ' => "gh",
        'ყ' => "q",
        'შ' => "sh",
        'ჩ' => "ch",
        'ც' => "ts",
        'ძ' => "dz",
        'წ' => "ts",
        'ჭ' => "ch",
        'ხ' => "kh",
        'ჯ' => "j",
        'ჰ' => "h",
        // Armenian.
        'ա' => "a",
        'բ' => "b",
        'գ' => "g",
        'դ' => "d",
        'ե' => "e",
        'զ' => "z",
        'է' => "e",
        'ը' => "y",
        'թ' => "t",
        'ժ' => "zh",
        'ի' => "i",
        'լ' => "l",
        'խ' => "kh",
        'ծ' => "ts",
        'կ' => "k",
        'հ' => "h",
        'ձ' => "dz",
        'ղ' => "gh",
        'ճ' => "ch",
        'մ' => "m",
        'յ' => "y",
        'ն' => "n",
        'շ' => "sh",
        'ո' => "o",
        'չ' => "ch",
        'պ' => "p",
        'ջ' => "j",
        'ռ' => "r",
        'ս' => "s",
        'վ' => "v",
        'տ' => "t",
        'ր' => "r",
        'ց' => "ts",
        'ւ' => "v",
        'փ' => "p",
        'ք' => "k",
        'օ' => "o",
        'ֆ' => "f",
        'և' => "ev",
        // Azerbaijani Latin and the accented Latin letters of other newsroom languages.
        'ə' => "e",
        'ğ' => "g",
        'ı' => "i",
        'ş' | 'š' | 'ś' => "s",
        'ç' | 'č' | 'ć' => "c",
        'ö' | 'ó' | 'ò' | 'ô' | 'õ' | 'ø' => "o",
        'ü' | 'ú' | 'ù' | 'û' => "u",
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ą' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'ę' => "e",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'ñ' | 'ń' => "n",
        'ž' | 'ź' | 'ż' => "z",
        'ł' => "l",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(text: &str) -> String {
        Slug::from_text(text).unwrap().into_string()
    }

    #[test]
    fn titles_in_every_newsroom_script_become_readable_ascii() {
        assert_eq!(
            slug("Georgia and Russia: talks resume"),
            "georgia-and-russia-talks-resume"
        );
        assert_eq!(
            slug("Грузия и Россия возобновят переговоры"),
            "gruziya-i-rossiya-vozobnovyat-peregovory"
        );
        assert_eq!(slug("Съезд, щит, ёлка"), "sezd-shchit-yolka");
        assert_eq!(slug("საქართველო და რუსეთი"), "sakartvelo-da-ruseti");
        assert_eq!(slug("ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ"), "sakartvelo");
        assert_eq!(slug("Հայաստան և Ադրբեջան"), "hayastan-ev-adrbejan");
        assert_eq!(slug("Երևանում ուսանողներ"), "erevanum-usanoghner");
        assert_eq!(
            slug("Azərbaycan Gürcüstan ilə İqtisadi əlaqələr"),
            "azerbaycan-gurcustan-ile-iqtisadi-elaqeler"
        );
        assert_eq!(slug("  --Hello,   World!!  "), "hello-world");
        assert!(Slug::from_text("!!! ???").is_none());
        assert!(slug(&"word ".repeat(60)).len() <= MAX_SLUG_LEN);
        assert_eq!(slug(&"a".repeat(200)).len(), MAX_SLUG_LEN);
    }

    #[test]
    fn parse_accepts_only_clean_slugs_and_suffixes_stay_in_bounds() {
        assert!(Slug::parse("georgia-russia", "slug").is_ok());
        for bad in [
            "",
            "Georgia",
            "a--b",
            "-a",
            "a-",
            "a b",
            "ру",
            &"a".repeat(97),
        ] {
            assert!(Slug::parse(bad, "slug").is_err(), "{bad}");
        }
        let long = Slug::parse(&"a".repeat(96), "slug").unwrap();
        assert_eq!(long.with_suffix(12).as_str().len(), MAX_SLUG_LEN);
        assert_eq!(
            Slug::parse("x", "s").unwrap().with_suffix(2).as_str(),
            "x-2"
        );
    }
}
