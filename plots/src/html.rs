//! The HTML form of the documents this crate writes: CommonMark (with
//! tables) rendered by pulldown-cmark, a table of contents built from the
//! headings, an anchor on every heading, and every chart inlined as its SVG,
//! so the HTML file stands alone: no network, no side files.

use std::fmt::Write as _;
use std::path::Path;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str =
    "body{font-family:sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
table{border-collapse:collapse;font-size:13px;margin:0.5em 0}\
td,th{border:1px solid #bbb;padding:3px 7px}th{background:#f0f0f0}\
pre{background:#f4f4f4;padding:8px;white-space:pre-wrap}code{background:#f4f4f4}\
blockquote{margin:1em 0;padding:0.4em 1em;border-left:6px solid #c0392b;background:#fdf0ee}\
nav.toc{background:#f7f7f7;border:1px solid #ddd;padding:0.3em 1.2em;margin:1em 0}\
nav.toc ul{margin:0.2em 0;padding-left:1.3em}nav.toc>ul>li{margin:0.25em 0}\
a.anchor{color:#bbb;text-decoration:none;margin-left:0.3em;font-size:0.8em}\
p>svg{display:block;margin:1em 0}svg{max-width:100%;height:auto}\
@media print{nav.toc{display:none}h2,h3,h4{break-after:avoid}svg{break-inside:avoid}}";

/// Where a document wants its table of contents (an HTML comment, so the
/// Markdown shows nothing); without it, the contents follow the title.
pub(crate) const CONTENTS: &str = "<!-- contents -->";

/// A heading: level, anchor id, text.
struct Heading {
    level: HeadingLevel,
    id: String,
    text: String,
}

/// An anchor id from heading text: lower case, alphanumerics kept, other
/// runs become one `-`; made unique with a counter.
fn anchor(text: &str, taken: &mut Vec<String>) -> String {
    let mut id = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    let base = id.trim_end_matches('-').to_string();
    let base = if base.is_empty() {
        "section".to_string()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    taken.push(id.clone());
    id
}

/// The SVG of a chart, ready to sit inside HTML (no XML declaration).
fn inline_svg(out: &Path, path: &str) -> String {
    match std::fs::read_to_string(out.join(path)) {
        Ok(svg) => match svg.find("<svg") {
            Some(i) => svg[i..].to_string(),
            None => svg,
        },
        Err(e) => format!("(chart {} could not be read: {e})", escape(path)),
    }
}

/// Renders `md` (whose image paths are relative to `out`) as one HTML page
/// with a table of contents of its second- and third-level headings, where
/// `md` has [`CONTENTS`], else after the title.
pub(crate) fn to_html(md: &str, out: &Path, title: &str) -> String {
    let mut headings: Vec<Heading> = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut in_heading: Option<(usize, HeadingLevel)> = None;
    let mut in_image = false;
    for ev in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                in_heading = Some((events.len(), level));
                events.push(Event::Text(CowStr::Borrowed("")));
            }
            Event::End(TagEnd::Heading(level)) => {
                let Some((at, _)) = in_heading.take() else {
                    continue;
                };
                let text: String = events[at + 1..]
                    .iter()
                    .filter_map(|e| match e {
                        Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                        _ => None,
                    })
                    .collect();
                let id = anchor(&text, &mut taken);
                events[at] = Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(id.clone())),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                });
                events.push(Event::InlineHtml(CowStr::from(format!(
                    "<a class=\"anchor\" href=\"#{id}\" aria-label=\"link to this section\">#</a>"
                ))));
                events.push(Event::End(TagEnd::Heading(level)));
                headings.push(Heading { level, id, text });
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                in_image = true;
                events.push(Event::InlineHtml(CowStr::from(inline_svg(out, &dest_url))));
            }
            Event::End(TagEnd::Image) => in_image = false,
            // The alt text of an inlined chart is its heading already.
            _ if in_image => {}
            other => events.push(other),
        }
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events.into_iter());

    let mut toc = String::from("<nav class=\"toc\"><b>Contents</b>\n<ul>\n");
    let mut open_sub = false;
    for h in headings
        .iter()
        .filter(|h| matches!(h.level, HeadingLevel::H2 | HeadingLevel::H3))
    {
        let link = format!("<a href=\"#{}\">{}</a>", h.id, escape(&h.text));
        if h.level == HeadingLevel::H2 {
            if open_sub {
                toc.push_str("</ul></li>\n");
            }
            let _ = write!(toc, "<li>{link}");
            // Closed when the next h2 (or the end) comes.
            toc.push_str("<ul>\n");
            open_sub = true;
        } else {
            let _ = writeln!(toc, "<li>{link}</li>");
        }
    }
    if open_sub {
        toc.push_str("</ul></li>\n");
    }
    toc.push_str("</ul></nav>\n");
    // Empty sub-lists of sections without subsections are dropped.
    let toc = toc.replace("<ul>\n</ul></li>", "</li>");
    let body = match (body.find(CONTENTS), body.find("</h1>")) {
        (Some(i), _) => format!("{}{toc}{}", &body[..i], &body[i + CONTENTS.len()..]),
        (None, Some(i)) => format!("{}{toc}{}", &body[..i + 5], &body[i + 5..]),
        (None, None) => format!("{toc}{body}"),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_code_links_headings_and_contents() {
        let md = "# T <1>\n\nIntro.\n\n## Part one\n\n| a | b |\n|---|---:|\n| `x` | **y** |\n\n```\nrm -rf <dir>\n```\n\n- one\n\n### Sub part\n\nA caption ([PNG](charts/x.png)).\n\n## Part one\n\n> **Warning:** lies.\n";
        let h = to_html(md, Path::new("."), "t");
        assert!(h.contains("<h1 id=\"t-1\">T &lt;1&gt;"), "{h}");
        assert!(h.contains("<th>a</th>"), "{h}");
        assert!(h.contains("<td><code>x</code></td>"), "{h}");
        assert!(h.contains("<strong>y</strong>"), "{h}");
        assert!(h.contains("rm -rf &lt;dir&gt;"), "{h}");
        assert!(h.contains("<li>one</li>"), "{h}");
        // A caption's link is a link, not raw Markdown.
        assert!(h.contains("<a href=\"charts/x.png\">PNG</a>"), "{h}");
        assert!(!h.contains("]("), "{h}");
        // Contents: both h2 (made unique) and the h3 under the first.
        assert!(h.contains("<a href=\"#part-one\">Part one</a><ul>\n<li><a href=\"#sub-part\">Sub part</a></li>"), "{h}");
        assert!(
            h.contains("<a href=\"#part-one-2\">Part one</a></li>"),
            "{h}"
        );
        assert!(h.contains("<h2 id=\"part-one-2\">"), "{h}");
        assert!(h.contains("<blockquote>"), "{h}");
        let toc = h.find("class=\"toc\"").unwrap();
        assert!(toc > h.find("</h1>").unwrap() && toc < h.find("Intro.").unwrap());
    }

    #[test]
    fn the_contents_go_where_the_document_asks() {
        let md = format!("# T\n\n## Answer\n\nFirst.\n\n{CONTENTS}\n\n## Details\n");
        let h = to_html(&md, Path::new("."), "t");
        let toc = h.find("class=\"toc\"").unwrap();
        assert!(h.find("First.").unwrap() < toc, "{h}");
        assert!(toc < h.find("<h2 id=\"details\"").unwrap(), "{h}");
        assert!(!h.contains(CONTENTS), "{h}");
        // Both sections are listed, the one before the contents too.
        assert!(h.contains("<a href=\"#answer\">Answer</a>"), "{h}");
    }

    #[test]
    fn images_are_inlined_svgs() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("c.svg"),
            "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>",
        )
        .unwrap();
        let h = to_html(
            "## C\n\n![the chart](c.svg)\n\n![gone](d.svg)\n",
            t.path(),
            "t",
        );
        assert!(h.contains("<p><svg xmlns"), "{h}");
        assert!(!h.contains("<?xml") && !h.contains("the chart"), "{h}");
        assert!(h.contains("(chart d.svg could not be read"), "{h}");
    }
}
