//! [`Frames`]: memory for the page images the btree's cache keeps, carved
//! from chunks on which the kernel is asked for transparent huge pages.
//!
//! At 10M keys the cache holds about 450,000 page images over 1.8 GB.
//! Each one a heap allocation of its own in 4 KiB pages, a point read
//! missed the TLB at every level of the tree, and the btree's point reads
//! varied by a third between runs (434k-591k ops/s) with where the heap
//! happened to lie. The same runs with glibc's heap on huge pages
//! (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, an experiment) gave
//! 649k-695k (docs/measurements.md). A buffer pool on huge pages is what
//! servers configure for the same reason (InnoDB's large pages,
//! PostgreSQL's `huge_pages`); this asks with `madvise(MADV_HUGEPAGE)`,
//! which works under the kernel's default `madvise` THP mode and is
//! ignored under `never` (the frames are then ordinary pages).
//!
//! A chunk is 32 MiB of anonymous memory, aligned to 2 MiB; frames are
//! handed out from it one after another and come back to a free list
//! when their [`Frame`] drops, so the cache reuses them as it evicts. The
//! chunks are unmapped when the pool and every frame are gone. A chunk
//! that cannot be mapped leaves the caller to use the heap
//! ([`Frame::heap`]).
#![allow(unsafe_code)]

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// Bytes mapped at a time.
const CHUNK: usize = 32 << 20;
/// The huge page size chunks are aligned to.
const HUGE: usize = 2 << 20;

#[derive(Debug, Default)]
struct State {
    /// Start of every chunk mapped (each `CHUNK` bytes).
    chunks: Vec<NonNull<u8>>,
    /// Frames returned, to hand out again.
    free: Vec<NonNull<u8>>,
    /// Frames handed out of the last chunk so far.
    carved: usize,
}

/// A pool of equal frames (see the module doc).
#[derive(Debug)]
pub struct Frames {
    len: usize,
    state: Mutex<State>,
}

// SAFETY: the pool owns its chunks; the raw pointers in `State` are only
// touched under its mutex, and each frame handed out is owned by one
// `Frame` until it comes back.
unsafe impl Send for Frames {}
// SAFETY: as above.
unsafe impl Sync for Frames {}

impl Frames {
    /// A pool of frames of `len` bytes (at most an eighth of a chunk).
    pub fn new(len: usize) -> Arc<Frames> {
        Arc::new(Frames {
            len: len.clamp(1, CHUNK / 8),
            state: Mutex::new(State::default()),
        })
    }

    /// A zeroed or reused frame of the pool's length; `None` if `len` is
    /// not what the pool holds or a chunk could not be mapped.
    pub fn take(self: &Arc<Self>, len: usize) -> Option<Frame> {
        if len != self.len {
            return None;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let ptr = match s.free.pop() {
            Some(p) => p,
            None => {
                let per_chunk = CHUNK / self.len;
                if s.chunks.is_empty() || s.carved == per_chunk {
                    s.chunks.push(map_chunk()?);
                    s.carved = 0;
                }
                let base = *s.chunks.last()?;
                // SAFETY: `carved < per_chunk`, so the frame lies inside
                // the chunk.
                let p = unsafe { base.add(s.carved * self.len) };
                s.carved += 1;
                p
            }
        };
        drop(s);
        Some(Frame {
            ptr,
            len,
            pool: Some(self.clone()),
        })
    }

    fn give_back(&self, ptr: NonNull<u8>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.free.push(ptr);
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        let s = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        for c in s.chunks.drain(..) {
            // SAFETY: each chunk is a mapping of `CHUNK` bytes made by
            // `map_chunk`; no frame outlives the pool (each holds an Arc).
            unsafe {
                libc::munmap(c.as_ptr().cast(), CHUNK);
            }
        }
    }
}

/// Maps `CHUNK` bytes of zeroed anonymous memory at a `HUGE` boundary
/// and asks for huge pages on it.
fn map_chunk() -> Option<NonNull<u8>> {
    let len = CHUNK + HUGE;
    // SAFETY: a fresh private anonymous mapping; the kernel picks the
    // address. Failure is MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    let addr = p as usize;
    let start = addr.next_multiple_of(HUGE);
    let head = start - addr;
    let tail = len - head - CHUNK;
    // SAFETY: the head and tail are the parts of the mapping above that
    // lie outside [start, start + CHUNK); `start` is page-aligned and
    // inside it. madvise only advises.
    unsafe {
        if head > 0 {
            libc::munmap(p, head);
        }
        if tail > 0 {
            libc::munmap((start + CHUNK) as *mut libc::c_void, tail);
        }
        libc::madvise(start as *mut libc::c_void, CHUNK, libc::MADV_HUGEPAGE);
    }
    NonNull::new(start as *mut u8)
}

/// Asks for huge pages on the whole 2 MiB pages inside `len` bytes at
/// `ptr`, before they are first touched (pages already faulted in stay
/// small). Used for the page table, which a read indexes once per level.
pub fn advise_huge(ptr: *const u8, len: usize) {
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(len) / HUGE * HUGE;
    if end > start {
        // SAFETY: madvise only advises; the range lies inside an
        // allocation the caller owns, and MADV_HUGEPAGE does not change
        // its contents.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// The bytes of one page image: a frame of a [`Frames`] pool, or a heap
/// allocation.
pub struct Frame {
    ptr: NonNull<u8>,
    len: usize,
    /// The pool the frame goes back to; `None`: a boxed slice.
    pool: Option<Arc<Frames>>,
}

// SAFETY: a frame owns its bytes alone (handed out once by the pool, or
// a boxed slice), so moving it or sharing `&Frame` across threads is as
// sound as for a `Box<[u8]>`.
unsafe impl Send for Frame {}
// SAFETY: as above.
unsafe impl Sync for Frame {}

impl Frame {
    /// A frame on the heap holding `bytes`.
    pub fn heap(bytes: Vec<u8>) -> Frame {
        let b = bytes.into_boxed_slice();
        let len = b.len();
        let ptr = NonNull::from(Box::leak(b)).cast::<u8>();
        Frame {
            ptr,
            len,
            pool: None,
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        match &self.pool {
            Some(pool) => pool.give_back(self.ptr),
            // SAFETY: `ptr` and `len` came from `Box::leak` of a boxed
            // slice in `Frame::heap`, and are released once, here.
            None => unsafe {
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                    self.ptr.as_ptr(),
                    self.len,
                )));
            },
        }
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` initialized bytes (zeroed memory of a
        // fresh mapping, or written since) owned by this frame.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Frame {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, and `&mut self` is the only access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Clone for Frame {
    fn clone(&self) -> Frame {
        Frame::heap(self.to_vec())
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Frame {}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("len", &self.len)
            .field("pooled", &self.pool.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames are distinct, zeroed when new, reused once dropped, and keep
    /// what was written to them; a length the pool does not hold is
    /// refused.
    #[test]
    fn frames_are_handed_out_once_and_reused() {
        let pool = Frames::new(4096);
        let mut a = pool.take(4096).expect("a frame");
        let mut b = pool.take(4096).expect("a frame");
        assert!(a.iter().all(|&x| x == 0) && b.len() == 4096);
        a.fill(1);
        b.fill(2);
        assert!(a.iter().all(|&x| x == 1) && b.iter().all(|&x| x == 2));
        let a_at = a.as_ptr();
        drop(a);
        let c = pool.take(4096).expect("a frame");
        assert_eq!(c.as_ptr(), a_at, "the dropped frame is reused");
        assert!(pool.take(512).is_none());
        // More frames than one chunk holds.
        let many: Vec<Frame> = (0..CHUNK / 4096 + 10)
            .map(|_| pool.take(4096).expect("a frame"))
            .collect();
        let mut at: Vec<usize> = many.iter().map(|f| f.as_ptr() as usize).collect();
        at.sort_unstable();
        assert!(at.windows(2).all(|w| w[1] - w[0] >= 4096), "no overlap");
        let copy = b.clone();
        assert_eq!(copy, b);
        drop(pool);
        assert!(
            b.iter().all(|&x| x == 2),
            "frames outlive the pool's handle"
        );
        let h = Frame::heap(vec![7; 10]);
        assert_eq!(&h[..], &[7; 10]);
    }
}
