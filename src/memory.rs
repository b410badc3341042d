//! Giving freed memory back to the system: glibc keeps what a thread frees in that
//! thread's arena, so after a burst of work the pages stay resident though unused.
//! The one place in promoterd with `unsafe` (ARCHITECTURE.md, "Unsafe code").

/// Asks the C library's allocator to return the whole free pages of every arena's free
/// lists to the system (`malloc_trim(0)`; a thread arena's free top stays, see
/// docs/performance.md); returns whether any came back. It walks and locks each
/// arena in turn (a millisecond or so here), so it runs on a blocking thread after work
/// is done: the link table built, a scheduler pass, an order rush over. Elsewhere than
/// glibc it does nothing: those allocators give memory back themselves, or cannot.
pub fn give_back() -> bool {
    trim()
}

/// [`give_back`] on a blocking thread, not waited for.
pub fn give_back_soon() {
    drop(tokio::task::spawn_blocking(give_back));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and touches only glibc's own free lists,
    // under each arena's lock; any thread may call it at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_pages_go_back() {
        // Many small blocks (below the mmap threshold, so from an arena) freed but one:
        // the last keeps the arena's top, so only a trim can return the pages below it.
        let blocks: Vec<Vec<u8>> = (0..4096).map(|i| vec![i as u8; 4000]).collect();
        let keep = vec![1u8; 4000];
        drop(blocks);
        assert!(super::give_back(), "16 MB of free pages below a live block");
        assert_eq!(keep[0], 1);
    }
}
