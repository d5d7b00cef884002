//! Task-local storage: values attached to the running task under process-lifetime keys, found
//! by a short linear scan of the task's own list (no lock: only the task touches it while it
//! runs), destroyed with their key's destructor when the task ends, cancelled or not.

use super::current;
use super::raw::RawTask;

/// A key; lives for the rest of the process (keys are few and typically static).
pub(crate) struct LocalKey {
    destructor: Option<Box<dyn Fn(*mut ()) + Send + Sync>>,
}

impl LocalKey {
    /// A new key. `destructor` runs on every value still set when its task ends, and on a
    /// value replaced by `set`.
    pub(crate) fn new(destructor: Option<Box<dyn Fn(*mut ()) + Send + Sync>>) -> &'static LocalKey {
        Box::leak(Box::new(LocalKey { destructor }))
    }

    fn destroy(&self, value: *mut ()) {
        if let Some(d) = &self.destructor
            && !value.is_null()
        {
            d(value);
        }
    }
}

/// The values of one task, in the order they were first set.
#[derive(Default)]
pub(crate) struct LocalValues(Vec<(&'static LocalKey, *mut ())>);

/// A set outside any task: there is no task to attach the value to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoTaskError;

fn with_current<R>(f: impl FnOnce(&mut LocalValues) -> R) -> Option<R> {
    let task = current::current()?;
    let ext = task.header().ext();
    // SAFETY: this thread holds the current task's RUNNING flag, which gives it the locals
    // (see `ext`).
    Some(ext.locals.with_mut(|l| f(unsafe { &mut *l })))
}

/// Sets the current task's value for `key`; an old value is destroyed (after the new one is
/// in place, so a destructor that reads the key sees the new value).
pub(crate) fn set(key: &'static LocalKey, value: *mut ()) -> Result<(), NoTaskError> {
    let old =
        with_current(
            |values| match values.0.iter_mut().find(|(k, _)| std::ptr::eq(*k, key)) {
                Some(slot) => Some(std::mem::replace(&mut slot.1, value)),
                None => {
                    values.0.push((key, value));
                    None
                }
            },
        )
        .ok_or(NoTaskError)?;
    if let Some(old) = old {
        key.destroy(old);
    }
    Ok(())
}

/// The current task's value for `key`; null if unset or outside a task.
pub(crate) fn get(key: &'static LocalKey) -> *mut () {
    with_current(|values| {
        values
            .0
            .iter()
            .find(|(k, _)| std::ptr::eq(*k, key))
            .map_or(std::ptr::null_mut(), |(_, v)| *v)
    })
    .unwrap_or(std::ptr::null_mut())
}

impl RawTask {
    /// Destroys every value of a finishing task (the caller holds RUNNING). Destructors run most
    /// recent key first; a destructor that sets values again gets them destroyed too (a few rounds).
    pub(super) fn destroy_locals(self) {
        let Some(ext) = self.header().ext_if_present() else {
            return;
        };
        for _ in 0..8 {
            // SAFETY: the caller holds RUNNING, which gives this thread the locals (see `ext`).
            let values = ext.locals.with_mut(|l| std::mem::take(unsafe { &mut *l }));
            if values.0.is_empty() {
                return;
            }
            for (key, value) in values.0.into_iter().rev() {
                key.destroy(value);
            }
        }
    }
}
