//! A machine's results folder copied into a fleet folder, its label
//! renamed to its name in the fleet: in `environment.json` and in the
//! `label` column of every CSV file, each field as it was otherwise
//! (columns this binary does not know included).

use std::path::Path;

use crate::files::{create_dir_durably, io};
use crate::{write_durably, Error, Result};

/// The data files of a results folder (the charts and documents drawn from
/// them are not copied: `plot` draws them again).
const DATA_FILES: &[&str] = &[
    "config.json",
    "probe.csv",
    "ceilings.csv",
    "runs.csv",
    "repetitions.csv",
    "latency.csv",
    "skipped.csv",
    "timeline.csv",
    "events.csv",
    "crash.csv",
    "capacity.csv",
    "capacity_steps.csv",
    "recovery.csv",
];

/// The histogram folders and their files' extension.
const HIST_DIRS: &[(&str, &str)] = &[("hgrm", "hgrm"), ("hist", "hdr")];

/// Copies the results folder `from` into `to` (a new folder), naming its
/// run `name`. Returns how many serialized histograms it has.
pub(super) fn copy_machine(from: &Path, to: &Path, name: &str) -> Result<usize> {
    create_dir_durably(to)?;
    let env = from.join("environment.json");
    if env.is_file() {
        write_durably(&to.join("environment.json"), &renamed_json(&env, name)?)?;
    }
    for file in DATA_FILES {
        let src = from.join(file);
        if !src.is_file() {
            continue;
        }
        let bytes = if file.ends_with(".csv") {
            renamed_csv(&src, name)?
        } else {
            std::fs::read(&src).map_err(|e| io("read", &src, e))?
        };
        write_durably(&to.join(file), &bytes)?;
    }
    let mut hists = 0;
    for (dir, ext) in HIST_DIRS {
        let copied = copy_files(&from.join(dir), &to.join(dir), ext)?;
        if *dir == "hist" {
            hists = copied;
        }
    }
    Ok(hists)
}

/// Copies the files ending in `.ext` of `from` (if it exists) into `to`.
fn copy_files(from: &Path, to: &Path, ext: &str) -> Result<usize> {
    let entries = match std::fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io("list", from, e)),
    };
    create_dir_durably(to)?;
    let mut n = 0;
    for e in entries {
        let e = e.map_err(|e| io("list", from, e))?;
        let path = e.path();
        if path.extension().is_some_and(|x| x == ext) && path.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| io("read", &path, e))?;
            write_durably(&to.join(e.file_name()), &bytes)?;
            n += 1;
        }
    }
    Ok(n)
}

/// `environment.json` with its `label` set to `name`; a file that is not
/// a JSON object is copied as it is (its readers say what is wrong).
fn renamed_json(path: &Path, name: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| io("read", path, e))?;
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(bytes);
    };
    let Some(object) = json.as_object_mut() else {
        return Ok(bytes);
    };
    object.insert("label".into(), name.into());
    let mut out = serde_json::to_vec_pretty(&json).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    out.push(b'\n');
    Ok(out)
}

/// A CSV file with every field of its `label` column set to `name` (the
/// file as it is when it has no such column).
fn renamed_csv(path: &Path, name: &str) -> Result<Vec<u8>> {
    let csv_err = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut r = csv::Reader::from_path(path).map_err(csv_err)?;
    let headers = r.headers().map_err(csv_err)?.clone();
    let Some(at) = headers.iter().position(|h| h == "label") else {
        return std::fs::read(path).map_err(|e| io("read", path, e));
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).map_err(csv_err)?;
    for record in r.records() {
        let record = record.map_err(csv_err)?;
        let fields = record
            .iter()
            .enumerate()
            .map(|(i, f)| if i == at { name } else { f });
        w.write_record(fields).map_err(csv_err)?;
    }
    w.into_inner().map_err(|e| Error::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
