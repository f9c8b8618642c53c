//! [`Shared<T>`]: one immutable object, read by many isolates by pointer.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use crate::sendable::Immutable;

/// A group-shared, deeply immutable object: one allocation that any number
/// of isolates read at once.
///
/// Sending a `Shared<T>` to an isolate in the same group copies a pointer, in
/// O(1) whatever the size of `T`: the receiver reads the very same memory.
/// This is Dart's sharing of deeply immutable objects, made explicit and
/// checked by the compiler (`T: Immutable`). There is no `DerefMut` and no
/// `get_mut`: nobody can change it, so nobody needs a lock to read it.
/// (Between groups in different processes, a later release serializes it, as
/// Dart copies objects that leave their group.)
///
/// # Examples
///
/// ```
/// use isolate_core::Shared;
///
/// let words: Shared<[String]> = Shared::from(vec!["the".to_owned(), "a".to_owned()]);
/// let copy = words.clone(); // O(1): same allocation
/// assert!(Shared::ptr_eq(&words, &copy));
/// assert_eq!(copy.len(), 2);
/// ```
///
/// Mutable data cannot go in:
///
/// ```compile_fail
/// let counter = isolate_core::Shared::new(std::cell::Cell::new(0));
/// ```
pub struct Shared<T: Immutable + ?Sized> {
    inner: Arc<T>,
}

impl<T: Immutable> Shared<T> {
    /// Moves `value` into a new shared allocation.
    pub fn new(value: T) -> Self {
        Shared {
            inner: Arc::new(value),
        }
    }
}

impl<T: Immutable + ?Sized> Shared<T> {
    /// Whether two handles point at the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        Arc::ptr_eq(&this.inner, &other.inner)
    }

    /// The address of the shared object: equal on both sides of a send inside
    /// a group, which is how a test can see that nothing was copied.
    pub fn as_ptr(this: &Self) -> *const T {
        Arc::as_ptr(&this.inner)
    }

    /// How many handles point at this object now.
    pub fn handle_count(this: &Self) -> usize {
        Arc::strong_count(&this.inner)
    }
}

impl<T: Immutable + ?Sized> Clone for Shared<T> {
    /// Another handle to the same object: O(1), no copy of `T`.
    fn clone(&self) -> Self {
        Shared {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Immutable + ?Sized> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: Immutable + ?Sized> AsRef<T> for Shared<T> {
    fn as_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: Immutable + ?Sized> Borrow<T> for Shared<T> {
    fn borrow(&self) -> &T {
        &self.inner
    }
}

impl From<String> for Shared<str> {
    /// Moves the string's bytes into a shared allocation.
    fn from(value: String) -> Self {
        Shared {
            inner: Arc::from(value),
        }
    }
}

impl From<&str> for Shared<str> {
    fn from(value: &str) -> Self {
        Shared {
            inner: Arc::from(value),
        }
    }
}

impl<T: Immutable> From<Vec<T>> for Shared<[T]> {
    /// Moves the vector's elements into a shared allocation.
    fn from(value: Vec<T>) -> Self {
        Shared {
            inner: Arc::from(value),
        }
    }
}

impl<T: Immutable + Clone> From<&[T]> for Shared<[T]> {
    fn from(value: &[T]) -> Self {
        Shared {
            inner: Arc::from(value),
        }
    }
}

impl<T: Immutable + ?Sized> From<Box<T>> for Shared<T> {
    fn from(value: Box<T>) -> Self {
        Shared {
            inner: Arc::from(value),
        }
    }
}

impl<T: Immutable + ?Sized> From<Shared<T>> for Arc<T> {
    fn from(value: Shared<T>) -> Self {
        value.inner
    }
}

impl<T: Immutable + ?Sized + fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl<T: Immutable + ?Sized + fmt::Display> fmt::Display for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.inner, f)
    }
}

impl<T: Immutable + ?Sized + PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        *self.inner == *other.inner
    }
}

impl<T: Immutable + ?Sized + Eq> Eq for Shared<T> {}

impl<T: Immutable + ?Sized + PartialOrd> PartialOrd for Shared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (*self.inner).partial_cmp(&*other.inner)
    }
}

impl<T: Immutable + ?Sized + Ord> Ord for Shared<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self.inner).cmp(&*other.inner)
    }
}

impl<T: Immutable + ?Sized + Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (*self.inner).hash(state)
    }
}

impl<T: Immutable + Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}
