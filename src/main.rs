//! The `palimpsest` command; `palimpsest::cli` holds its flags and commands.

use std::process::ExitCode;

/// jemalloc, with its background threads, hands memory back to the system within seconds of a
/// large request freeing it, where glibc's allocator keeps its high-water mark.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at start-up (`malloc_conf`, a C string): freed pages go back to
/// the system after about a second (`dirty_decay_ms`), with `MADV_DONTNEED` rather than the
/// lazy `MADV_FREE` (`muzzy_decay_ms:0`), which would leave them counted in the process's RSS
/// until the kernel needs them.
#[unsafe(export_name = "malloc_conf")]
static JEMALLOC_CONF: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

fn main() -> ExitCode {
    palimpsest::cli::main()
}
