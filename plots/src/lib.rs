//! Charts and the Markdown/HTML report, drawn from saved results only.
