//! Result rows, environment capture, CSV/JSON/hgrm I/O and comparison.
