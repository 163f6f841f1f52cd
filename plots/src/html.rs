//! A small Markdown-to-HTML conversion for the documents this crate writes
//! (headings, tables, code blocks, lists, images, paragraphs, `code` and
//! **bold**). Every image is inlined as its SVG, so the HTML file stands
//! alone: no network, no side files.

use std::fmt::Write as _;
use std::path::Path;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes `s` and turns `code` and **bold** spans into tags.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(s).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, b) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<b>{b}</b>");
                } else {
                    out.push_str(b);
                }
            }
        }
    }
    out
}

const STYLE: &str =
    "body{font-family:sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;font-size:13px;margin:0.5em 0}\
td,th{border:1px solid #bbb;padding:3px 7px}td{text-align:right}\
td:first-child{text-align:left}th{background:#f0f0f0}\
pre{background:#f4f4f4;padding:8px;white-space:pre-wrap}code{background:#f4f4f4}\
figure{margin:1em 0}svg{max-width:100%;height:auto}\
@media print{h2,h3,h4{break-after:avoid}figure{break-inside:avoid}}";

/// Converts `md` (whose image paths are relative to `out`) to one HTML page.
pub(crate) fn to_html(md: &str, out: &Path, title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    );
    let mut in_table = false;
    let mut in_code = false;
    let mut in_list = false;
    for line in md.lines() {
        if line.starts_with("```") {
            h.push_str(if in_code { "</pre>\n" } else { "<pre>" });
            in_code = !in_code;
            continue;
        }
        if in_code {
            let _ = writeln!(h, "{}", escape(line));
            continue;
        }
        if in_table && !line.starts_with('|') {
            h.push_str("</table>\n");
            in_table = false;
        }
        if in_list && !line.starts_with("- ") {
            h.push_str("</ul>\n");
            in_list = false;
        }
        let heading = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&heading) && line[heading..].starts_with(' ') {
            let _ = writeln!(
                h,
                "<h{heading}>{}</h{heading}>",
                inline(line[heading..].trim())
            );
        } else if line.starts_with('|') {
            if line.starts_with("|--") || line.starts_with("|:-") {
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                h.push_str("<table>\n");
                in_table = true;
            }
            h.push_str("<tr>");
            for c in &cells {
                let _ = write!(h, "<{tag}>{}</{tag}>", inline(c));
            }
            h.push_str("</tr>\n");
        } else if let Some(t) = line.strip_prefix("- ") {
            if !in_list {
                h.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(h, "<li>{}</li>", inline(t));
        } else if let Some(rest) = line.strip_prefix("![") {
            let path = rest
                .split_once("](")
                .map(|(_, p)| p.trim_end_matches(')'))
                .unwrap_or("");
            match std::fs::read_to_string(out.join(path)) {
                Ok(svg) => {
                    // Drop the XML declaration: it is not allowed inside HTML.
                    let svg = match svg.find("<svg") {
                        Some(i) => &svg[i..],
                        None => svg.as_str(),
                    };
                    let _ = writeln!(h, "<figure>{svg}</figure>");
                }
                Err(e) => {
                    let _ = writeln!(h, "<p>(chart {} could not be read: {e})</p>", escape(path));
                }
            }
        } else if !line.trim().is_empty() {
            let _ = writeln!(h, "<p>{}</p>", inline(line));
        }
    }
    if in_table {
        h.push_str("</table>\n");
    }
    if in_list {
        h.push_str("</ul>\n");
    }
    if in_code {
        h.push_str("</pre>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_code_and_escaping() {
        let md =
            "# T <1>\n\n| a | b |\n|---|---|\n| `x` | **y** |\n\n```\nrm -rf <dir>\n```\n- one\n";
        let h = to_html(md, Path::new("."), "t");
        assert!(h.contains("<h1>T &lt;1&gt;</h1>"));
        assert!(h.contains("<th>a</th><th>b</th>"));
        assert!(h.contains("<td><code>x</code></td><td><b>y</b></td>"));
        assert!(h.contains("<pre>rm -rf &lt;dir&gt;\n</pre>"));
        assert!(h.contains("<ul>\n<li>one</li>\n</ul>"));
    }
}
