//! `tasks_local_key`: task-local storage.

use std::ffi::c_void;

use super::callback::CFn;
use super::cast::{self, castable};
use super::status::status_of;
use super::{Required, boundary, checked, tasks_status};
use crate::core::task::task_local::{self, LocalKey};

/// A key for task-local values; keys live for the rest of the process (never freed).
pub struct tasks_local_key {
    _private: [u8; 0],
}

castable!(tasks_local_key => LocalKey, Borrowed);

/// A new key. `destructor` (may be NULL) runs on every non-NULL value still set when its task
/// ends (finished or cancelled, before tasks_join_handle_is_finished turns true) and on a value
/// replaced by tasks_local_key_set. The key is never freed. NULL only if out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_local_key_new(
    destructor: Option<unsafe extern "C" fn(value: *mut c_void)>,
) -> *mut tasks_local_key {
    boundary(|| {
        let d = CFn::new(destructor).map(|d| {
            // SAFETY: the user's destructor on a value they set for this key.
            Box::new(move |v: *mut ()| unsafe { d.call(v.cast()) })
                as Box<dyn Fn(*mut ()) + Send + Sync>
        });
        std::ptr::from_ref(LocalKey::new(d)).cast_mut().cast()
    })
}

/// Sets the running task's value for `key`; the value it replaces is destroyed with the key's
/// destructor. Returns TASKS_ERR_NULL (key NULL), TASKS_ERR_NO_TASK (not inside a task).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_local_key_set(
    k: *const tasks_local_key,
    value: *mut c_void,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a key from tasks_local_key_new (never freed).
        let key: &'static LocalKey = unsafe { cast::try_ref(k) }.required()?;
        Ok(status_of(task_local::set(key, value.cast())))
    })
}

/// The running task's value for `key`; NULL if unset, outside a task, or `key` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_local_key_get(k: *const tasks_local_key) -> *mut c_void {
    boundary(|| {
        // SAFETY: NULL or a key from tasks_local_key_new (never freed).
        let key: Option<&'static LocalKey> = unsafe { cast::try_ref(k) };
        key.map_or(std::ptr::null_mut(), |key| task_local::get(key).cast())
    })
}
