//! [`SimFile`], an open file of the simulator: reads see every write
//! (the page cache); writes, truncates and reservations are pending data
//! operations until the file's next sync ([`super::sync`]). Each is an
//! operation boundary.

use std::path::{Path, PathBuf};

use super::state::DataOp;
use super::SimFs;
use crate::fs::VFile;
use crate::{Error, Result};

/// An open file: the inode it names and the path it was opened under.
#[derive(Debug)]
pub(super) struct SimFile {
    pub(super) fs: SimFs,
    pub(super) ino: u64,
    pub(super) path: PathBuf,
}

impl SimFile {
    fn write(&self, off: Option<u64>, buf: &[u8]) -> Result<u64> {
        let mut st = self.fs.lock();
        let short = st.write_fault(&self.path, buf.len())?;
        let bytes = if short { &buf[..buf.len() / 2] } else { buf };
        st.bytes += bytes.len() as u64;
        let at = off.unwrap_or_else(|| st.inodes.get(&self.ino).map_or(0, |n| n.data.len() as u64));
        let op = DataOp::Write {
            off: at,
            bytes: bytes.to_vec(),
        };
        let opn = st.data_op(self.ino, op);
        st.boundary(self.fs.profile);
        let len = bytes.len();
        st.event(|| {
            format!(
                "#{opn} write {} @{at} +{len}{}",
                self.path.display(),
                if short { " (short, injected)" } else { "" }
            )
        });
        if short {
            return Err(Error::io(
                "write",
                &self.path,
                std::io::Error::other("short write (injected)"),
            ));
        }
        Ok(at)
    }
}

impl VFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let st = self.fs.lock();
        let data = st
            .inodes
            .get(&self.ino)
            .map(|n| n.data.as_slice())
            .unwrap_or(&[]);
        let end = offset as usize + buf.len();
        if end > data.len() {
            return Err(Error::io(
                "read",
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("short read of {} bytes at offset {offset}", buf.len()),
                ),
            ));
        }
        buf.copy_from_slice(&data[offset as usize..end]);
        Ok(())
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.write(Some(offset), buf).map(|_| ())
    }

    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.write(None, buf)
    }

    fn len(&self) -> Result<u64> {
        let st = self.fs.lock();
        Ok(st.inodes.get(&self.ino).map_or(0, |n| n.data.len() as u64))
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut st = self.fs.lock();
        let opn = st.data_op(self.ino, DataOp::SetLen(len));
        st.event(|| format!("#{opn} set_len {} {len}", self.path.display()));
        st.boundary(self.fs.profile);
        Ok(())
    }

    /// A pending data operation like a write: it reaches the durable image
    /// with the file's next sync (either primitive: fdatasync commits a size
    /// change), and a crash before that keeps it or not, in order with the
    /// file's other pending operations. Reserved space reads as zeros.
    /// Allocation is not counted against
    /// [`Faults::disk_bytes`](super::Faults::disk_bytes) (written bytes
    /// only).
    fn allocate(&self, len: u64) -> Result<()> {
        let mut st = self.fs.lock();
        if st.inodes.get(&self.ino).map_or(0, |n| n.data.len() as u64) >= len {
            return Ok(());
        }
        let opn = st.data_op(self.ino, DataOp::Allocate(len));
        st.event(|| format!("#{opn} allocate {} {len}", self.path.display()));
        st.boundary(self.fs.profile);
        Ok(())
    }

    fn sync_data(&self) -> Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> Result<()> {
        self.sync()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
