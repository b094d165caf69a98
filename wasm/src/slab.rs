//! Handle tables: the host refers to configs and sessions by small integers.

use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// A table of values addressed by non-zero `u32` handles; freed slots are reused.
pub struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    pub const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = Some(value);
                index + 1
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() as u32
            }
        }
    }

    pub fn get_mut(&mut self, handle: u32) -> Option<&mut T> {
        let index = handle.checked_sub(1)? as usize;
        self.slots.get_mut(index)?.as_mut()
    }

    pub fn remove(&mut self, handle: u32) -> Option<T> {
        let index = handle.checked_sub(1)?;
        let value = self.slots.get_mut(index as usize)?.take()?;
        self.free.push(index);
        Some(value)
    }
}

/// Global state for a single-threaded module. The host calls exports one at a
/// time and the host imports never call back into the module, so at most one
/// mutable borrow is alive at any moment.
pub struct Global<T>(UnsafeCell<T>);

unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    #[allow(clippy::mut_from_ref)]
    pub fn get(&self) -> &mut T {
        // SAFETY: see the type's comment; wasm32-unknown-unknown has no threads here.
        unsafe { &mut *self.0.get() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_non_zero_and_find_their_values() {
        let mut slab = Slab::new();
        let (a, b) = (slab.insert("a"), slab.insert("b"));
        assert_eq!((a, b), (1, 2));
        assert_eq!(slab.get_mut(a), Some(&mut "a"));
        assert_eq!(slab.get_mut(b), Some(&mut "b"));
    }

    #[test]
    fn unknown_and_removed_handles_find_nothing() {
        let mut slab = Slab::new();
        let a = slab.insert(1);
        for unknown in [0, 2, u32::MAX] {
            assert_eq!(slab.get_mut(unknown), None);
            assert_eq!(slab.remove(unknown), None);
        }
        assert_eq!(slab.remove(a), Some(1));
        assert_eq!(slab.get_mut(a), None);
        // Removed twice: the slot is not freed again, so it cannot be handed out twice.
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.free.len(), 1);
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut slab = Slab::new();
        let (a, b) = (slab.insert('a'), slab.insert('b'));
        slab.remove(a);
        let c = slab.insert('c');
        assert_eq!(c, a);
        assert_eq!(slab.get_mut(c), Some(&mut 'c'));
        assert_eq!(slab.get_mut(b), Some(&mut 'b'));
        assert_eq!(slab.insert('d'), 3);
    }
}
