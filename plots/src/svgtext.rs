//! Text of an SVG chart drawn as glyph outlines of the bundled font, so a
//! chart looks the same on every machine (an SVG that only names
//! `sans-serif` takes whatever font the viewer has).
//!
//! plotters' SVG backend writes `<text>` elements; [`outline_text`] replaces
//! each with a group of `<use>` references to glyph paths defined once per
//! chart (`<defs>`), placed exactly where the bitmap backend puts the same
//! text in the PNG. The group keeps the text in `aria-label`, so the SVG
//! stays searchable and readable by screen readers. Each glyph is stored
//! once, so a chart grows by a few kilobytes, not by the font's 680 KB.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ttf_parser::{Face, GlyphId, OutlineBuilder};

use crate::style::FONT;

/// A glyph outline as SVG path data, in font units (y up).
struct PathData(String);

impl OutlineBuilder for PathData {
    fn move_to(&mut self, x: f32, y: f32) {
        let _ = write!(self.0, "M{} {}", x.round(), y.round());
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let _ = write!(self.0, "L{} {}", x.round(), y.round());
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let _ = write!(
            self.0,
            "Q{} {} {} {}",
            x1.round(),
            y1.round(),
            x.round(),
            y.round()
        );
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let _ = write!(
            self.0,
            "C{} {} {} {} {} {}",
            x1.round(),
            y1.round(),
            x2.round(),
            y2.round(),
            x.round(),
            y.round()
        );
    }
    fn close(&mut self) {
        self.0.push('Z');
    }
}

/// One `<text>` element's attributes as plotters writes them.
#[derive(Debug, Default)]
struct TextAttrs {
    x: f64,
    y: f64,
    anchor: String,
    dy: String,
    font_size: f64,
    fill: String,
    opacity: String,
    transform: String,
}

fn parse_attrs(tag: &str) -> TextAttrs {
    let mut a = TextAttrs::default();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        let value = &after[..end];
        match name {
            "x" => a.x = value.parse().unwrap_or(0.0),
            "y" => a.y = value.parse().unwrap_or(0.0),
            "dy" => a.dy = value.to_string(),
            "text-anchor" => a.anchor = value.to_string(),
            "font-size" => a.font_size = value.parse().unwrap_or(12.0),
            "fill" => a.fill = value.to_string(),
            "opacity" => a.opacity = value.to_string(),
            "transform" => a.transform = value.to_string(),
            _ => {}
        }
        rest = &after[end + 1..];
    }
    a
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Glyph outlines of the bundled font, collected for one chart.
struct Glyphs<'a> {
    face: Face<'a>,
    prefix: String,
    /// Glyph id -> path data (empty for glyphs without outline, e.g. space).
    used: BTreeMap<u16, String>,
}

impl Glyphs<'_> {
    fn kern(&self, left: GlyphId, right: GlyphId) -> f64 {
        self.face
            .tables()
            .kern
            .and_then(|k| {
                k.subtables
                    .into_iter()
                    .filter(|s| s.horizontal && !s.variable)
                    .find_map(|s| s.glyphs_kerning(left, right))
            })
            .map_or(0.0, f64::from)
    }

    /// `<use>` elements for `text` from x = 0 on the baseline, in font
    /// units, and the text's advance width in font units.
    fn run(&mut self, text: &str) -> (String, f64) {
        let mut out = String::new();
        let mut x = 0.0;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let g = self.face.glyph_index(c).unwrap_or(GlyphId(0));
            if let Some(p) = prev {
                x += self.kern(p, g);
            }
            prev = Some(g);
            let d = self.used.entry(g.0).or_insert_with(|| {
                let mut b = PathData(String::new());
                self.face.outline_glyph(g, &mut b);
                b.0
            });
            if !d.is_empty() {
                let _ = write!(out, "<use href=\"#{}{}\" x=\"{}\"/>", self.prefix, g.0, x);
            }
            x += f64::from(self.face.glyph_hor_advance(g).unwrap_or(0));
        }
        (out, x)
    }

    fn defs(&self) -> String {
        let mut d = String::from("<defs>");
        for (id, path) in self.used.iter().filter(|(_, p)| !p.is_empty()) {
            let _ = write!(d, "<path id=\"{}{id}\" d=\"{path}\"/>", self.prefix);
        }
        d.push_str("</defs>");
        d
    }
}

/// Replaces every `<text>` of a plotters SVG by outlines of the bundled
/// font. `id_prefix` keeps glyph ids unique when several charts are inlined
/// in one HTML page. An SVG the font cannot be read for is returned as is.
pub(crate) fn outline_text(svg: &str, id_prefix: &str) -> String {
    let Ok(face) = Face::parse(FONT, 0) else {
        return svg.to_string();
    };
    // ab_glyph (the PNG's text) scales the font so ascent - descent equals
    // the pixel size; plotters writes that size / 1.24 as `font-size`.
    let height = f64::from(face.ascender()) - f64::from(face.descender());
    let mut glyphs = Glyphs {
        face,
        prefix: id_prefix.to_string(),
        used: BTreeMap::new(),
    };
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        let Some(open_end) = rest[start..].find('>').map(|i| start + i) else {
            break;
        };
        let Some(close) = rest[open_end..].find("</text>").map(|i| open_end + i) else {
            break;
        };
        out.push_str(&rest[..start]);
        let a = parse_attrs(&rest[start + 5..open_end]);
        let text = unescape(rest[open_end + 1..close].trim());
        rest = &rest[close + "</text>".len()..];

        let size = a.font_size * 1.24;
        let scale = size / height;
        let (uses, advance) = glyphs.run(&text);
        let width = advance * scale;
        let left = match a.anchor.as_str() {
            "middle" => a.x - width / 2.0,
            "end" => a.x - width,
            _ => a.x,
        };
        // The bitmap backend puts the baseline size/2 below the top of a
        // layout box size/1.24 high.
        let top = match a.dy.as_str() {
            "0.76em" => a.y,
            "0.5ex" => a.y - size / 2.48,
            _ => a.y - size / 1.24,
        };
        let baseline = top + size / 2.0;
        let _ = write!(
            out,
            "<g aria-label=\"{}\" fill=\"{}\"",
            escape_attr(&text),
            a.fill
        );
        if !a.opacity.is_empty() && a.opacity != "1" {
            let _ = write!(out, " opacity=\"{}\"", a.opacity);
        }
        out.push_str(" transform=\"");
        if !a.transform.is_empty() {
            let _ = write!(out, "{} ", a.transform);
        }
        let _ = write!(
            out,
            "translate({:.1} {:.1}) scale({:.6} {:.6})\">{uses}</g>",
            left, baseline, scale, -scale
        );
    }
    out.push_str(rest);
    let defs = glyphs.defs();
    match out.rfind("</svg>") {
        Some(i) => {
            out.insert_str(i, &defs);
            out
        }
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_glyph_references_with_the_text_kept_as_a_label() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"100\" y=\"50\" dy=\"0.76em\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"20\" opacity=\"1\" fill=\"#000000\">A &amp; AB</text></svg>";
        let out = outline_text(svg, "c1-");
        assert!(!out.contains("<text"), "{out}");
        assert!(out.contains("aria-label=\"A &amp; AB\""), "{out}");
        // 'A' is defined once and used twice; the space has no outline.
        assert_eq!(out.matches("<path id=\"c1-").count(), 3, "{out}");
        assert_eq!(out.matches("<use ").count(), 4, "{out}");
        assert!(out.ends_with("</defs></svg>"), "{out}");
        roxmltree::Document::parse(&out).unwrap();
    }

    #[test]
    fn centred_text_straddles_its_anchor() {
        let svg = "<svg><text x=\"100\" y=\"50\" dy=\"0.5ex\" text-anchor=\"end\" font-family=\"sans-serif\" font-size=\"20\" opacity=\"1\" fill=\"#000000\" transform=\"rotate(270, 100, 50)\">WWW</text></svg>";
        let out = outline_text(svg, "p");
        let t = out.split("translate(").nth(1).unwrap();
        let x: f64 = t.split(' ').next().unwrap().parse().unwrap();
        // Right-aligned: the text ends at x = 100, so it starts well left of it.
        assert!(x < 60.0, "{out}");
        assert!(out.contains("transform=\"rotate(270, 100, 50) translate("));
    }
}
