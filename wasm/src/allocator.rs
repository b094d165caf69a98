//! The engine's allocator: dlmalloc, counting the bytes in use, so that the
//! host can see connections give back what they took (wasm memory itself
//! only ever grows).

use core::alloc::{GlobalAlloc, Layout};

use crate::slab::Global;

static IN_USE: Global<usize> = Global::new(0);

pub struct CountingAllocator;

/// Bytes allocated and not yet freed.
pub fn in_use() -> usize {
    *IN_USE.get()
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { dlmalloc::GlobalDlmalloc.alloc(layout) };
        if !ptr.is_null() {
            *IN_USE.get() += layout.size();
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { dlmalloc::GlobalDlmalloc.alloc_zeroed(layout) };
        if !ptr.is_null() {
            *IN_USE.get() += layout.size();
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { dlmalloc::GlobalDlmalloc.dealloc(ptr, layout) };
        *IN_USE.get() -= layout.size();
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { dlmalloc::GlobalDlmalloc.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            *IN_USE.get() = *IN_USE.get() - layout.size() + new_size;
        }
        moved
    }
}
