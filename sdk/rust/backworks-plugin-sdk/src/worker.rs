//! Threads a plugin starts in `initialize` and must join in `shutdown`, with a stop signal that
//! also serves as an interruptible timer: `stop.sleep(d)` returns early, with `true`, once the
//! plugin is stopping. Connectors (listeners, uplinks, pollers) need exactly this, so it lives here.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Tells a worker thread that the plugin is stopping. Cheap to clone.
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Stop {
    /// Whether the plugin is stopping.
    pub fn is_set(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps for `duration` or until stopping, whichever comes first; `true` when stopping.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let (lock, cond) = &*self.inner;
        let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
        while !*stopped {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = cond.wait_timeout(stopped, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    fn set(&self, value: bool) {
        let (lock, cond) = &*self.inner;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = value;
        cond.notify_all();
    }
}

/// The plugin's own threads. `spawn` in `initialize`, `stop_and_join` in `shutdown`:
///
/// ```
/// use backworks_plugin_sdk::Workers;
/// use std::time::Duration;
///
/// let workers = Workers::default();
/// workers.spawn("poller", |stop| while !stop.sleep(Duration::from_millis(10)) { /* poll */ }).unwrap();
/// workers.stop_and_join(); // wakes the sleep, joins the thread
/// ```
#[derive(Default)]
pub struct Workers {
    stop: Stop,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Starts a named thread running `body(stop)`; it should return soon after `stop` is set.
    pub fn spawn(&self, name: &str, body: impl FnOnce(Stop) + Send + 'static) -> std::io::Result<()> {
        let stop = self.stop.clone();
        let handle = std::thread::Builder::new().name(name.to_owned()).spawn(move || body(stop))?;
        self.threads.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
        Ok(())
    }

    /// The signal the workers see, for code that is not a worker body (e.g. a listener).
    pub fn stop_signal(&self) -> Stop {
        self.stop.clone()
    }

    /// Sets the stop signal, joins every thread, then clears the signal so the set can be
    /// used again (a reload that starts new workers).
    pub fn stop_and_join(&self) {
        self.stop.set(true);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
        self.stop.set(false);
    }
}
