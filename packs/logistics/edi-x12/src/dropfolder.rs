//! The inbound drop folder: a thread of the plugin's own polls it, takes each file once its size
//! and mtime have held still for `settle` across two scans (a file still being written is never
//! picked up), and moves it to `processed/` or `failed/` with its acknowledgment beside it. A file
//! the buffer could not store stays where it is and is tried again.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use backworks_plugin_sdk::{LogLevel, PluginError};

use crate::config::DropFolder;
use crate::inbound;
use crate::Core;

/// The running poller; `stop` wakes it and joins it.
pub struct Poller {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Poller {
    pub fn start(core: Arc<Core>, folder: DropFolder) -> io::Result<Poller> {
        for dir in [folder.path.clone(), folder.path.join("processed"), folder.path.join("failed")] {
            fs::create_dir_all(&dir)?;
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new().name("edi-drop-folder".into()).spawn(move || run(core, folder, signal))?;
        Ok(Poller { stop, thread: Some(thread) })
    }

    pub fn stop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a scan saw of a file: size, mtime.
type Seen = (u64, SystemTime);

fn run(core: Arc<Core>, folder: DropFolder, stop: Arc<(Mutex<bool>, Condvar)>) {
    let mut seen: HashMap<OsString, Seen> = HashMap::new();
    let settle = Duration::from_millis(folder.settle_ms);
    loop {
        {
            let (flag, wake) = &*stop;
            let stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
            if *stopped {
                return;
            }
            let (stopped, _) = wake.wait_timeout(stopped, Duration::from_millis(folder.poll_ms)).unwrap_or_else(|p| p.into_inner());
            if *stopped {
                return;
            }
        }
        let entries = match fs::read_dir(&folder.path) {
            Ok(entries) => entries,
            Err(e) => {
                core.host.log(LogLevel::Warn, &format!("drop folder {}: {e}", folder.path.display()));
                continue;
            }
        };
        let mut now_seen = HashMap::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            if skipped(&name) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let state = (meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
            let quiet = SystemTime::now().duration_since(state.1).map_or(false, |age| age >= settle);
            if seen.get(&name) == Some(&state) && quiet {
                take(&core, &folder.path, &name);
            } else {
                now_seen.insert(name, state);
            }
        }
        seen = now_seen;
    }
}

/// Hidden files and the usual names of files being written are left alone.
fn skipped(name: &OsString) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') || [".tmp", ".part", ".partial", ".filepart"].iter().any(|s| name.ends_with(s))
}

fn take(core: &Core, dir: &Path, name: &OsString) {
    let path = dir.join(name);
    let shown = name.to_string_lossy().into_owned();
    let text = match fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text.replace('\0', ""),
            Err(e) => return finish(core, dir, name, "failed", "error.txt", &format!("not UTF-8 text: {e}\n")),
        },
        Err(e) => return core.host.log(LogLevel::Warn, &format!("drop folder: cannot read {shown}: {e}")),
    };
    match inbound::receive(&core.host, &core.config, &core.controls, &text, &format!("drop:{shown}")) {
        Ok(receipt) => {
            let to = if receipt.accepted { "processed" } else { "failed" };
            finish(core, dir, name, to, "ack", &receipt.ack);
            core.host.log(LogLevel::Info, &format!("drop folder: {shown} stored as document {:?} and moved to {to}/", receipt.document_ids));
        }
        Err(PluginError::BadRequest(why)) => finish(core, dir, name, "failed", "error.txt", &format!("{why}\n")),
        Err(e) => core.host.log(LogLevel::Warn, &format!("drop folder: {shown} left in place, will retry: {e}")),
    }
}

/// Writes the acknowledgment (or the error) beside where the file goes, then moves the file.
fn finish(core: &Core, dir: &Path, name: &OsString, to: &str, suffix: &str, answer: &str) {
    let target = free_name(&dir.join(to), name);
    let mut beside = target.clone().into_os_string();
    beside.push(format!(".{suffix}"));
    let result = (|| -> io::Result<()> {
        if !answer.is_empty() {
            write_atomically(Path::new(&beside), answer.as_bytes())?;
        }
        fs::rename(dir.join(name), &target)
    })();
    if let Err(e) = result {
        core.host.log(LogLevel::Error, &format!("drop folder: cannot move {} to {to}/: {e}", name.to_string_lossy()));
    }
}

/// `name`, or `name.1`, `name.2`… when a file of that name was already processed.
fn free_name(dir: &Path, name: &OsString) -> PathBuf {
    let mut candidate = dir.join(name);
    let mut n = 1;
    while candidate.exists() {
        let mut numbered = name.clone();
        numbered.push(format!(".{n}"));
        candidate = dir.join(numbered);
        n += 1;
    }
    candidate
}

/// Written under a temporary name and renamed, so nobody reads half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}
