//! `tasks_local_key`: task-local storage.

use std::ffi::c_void;

use super::{boundary, null_check, tasks_status};
use crate::core::task::locals::{self, LocalError, LocalKey};

/// A key for task-local values; keys live for the rest of the process (never freed).
pub struct tasks_local_key {
    _private: [u8; 0],
}

struct Destructor(unsafe extern "C" fn(*mut c_void));

impl Destructor {
    fn call(&self, value: *mut ()) {
        // SAFETY: the user's destructor on a value they set for this key.
        unsafe { (self.0)(value.cast()) }
    }
}

unsafe fn key(k: *const tasks_local_key) -> &'static LocalKey {
    // SAFETY: keys come from tasks_local_key_new and are never freed.
    unsafe { &*k.cast::<LocalKey>() }
}

/// A new key. `destructor` (may be NULL) runs on every non-NULL value still set when its task
/// ends (finished or cancelled, before tasks_join_handle_is_finished turns true) and on a value
/// replaced by tasks_local_key_set. The key is never freed. NULL only if out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_local_key_new(
    destructor: Option<unsafe extern "C" fn(value: *mut c_void)>,
) -> *mut tasks_local_key {
    boundary(|| {
        let d: Option<Box<dyn Fn(*mut ()) + Send + Sync>> = destructor.map(|f| {
            let d = Destructor(f);
            Box::new(move |v: *mut ()| d.call(v)) as Box<dyn Fn(*mut ()) + Send + Sync>
        });
        (LocalKey::new(d) as *const LocalKey).cast_mut().cast()
    })
}

/// Sets the running task's value for `key`; the value it replaces is destroyed with the key's
/// destructor. Returns TASKS_ERR_NULL (key NULL), TASKS_ERR_NO_TASK (not inside a task).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_local_key_set(
    k: *const tasks_local_key,
    value: *mut c_void,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; k);
        // SAFETY: a key from tasks_local_key_new.
        match locals::set(unsafe { key(k) }, value.cast()) {
            Ok(()) => tasks_status::TASKS_OK,
            Err(LocalError::NoTask) => tasks_status::TASKS_ERR_NO_TASK,
        }
    })
}

/// The running task's value for `key`; NULL if unset, outside a task, or `key` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_local_key_get(k: *const tasks_local_key) -> *mut c_void {
    boundary(|| {
        null_check!(std::ptr::null_mut(); k);
        // SAFETY: a key from tasks_local_key_new.
        locals::get(unsafe { key(k) }).cast()
    })
}
