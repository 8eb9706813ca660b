//! The model's side of the RocketMQ message log (`crate::storage::mqlog` owns the files): turning on the
//! recording of message-store events, draining them, encoding them as log records, and rebuilding each
//! instance's message store from its records at start.
//!
//! Record payloads (the file layer frames each with its length and CRC):
//! - `E` + `[JSON length: u32 LE]` + the [`StoreEvent`] as JSON (the carried message's body left out) + the
//!   body's raw bytes. Encoding costs the size of that one event, never of the store.
//! - `C` + a message store as JSON (the layout of the legacy `m/<instance>` journal record): replaces the
//!   store's content when replayed. A checkpoint, written when a log starts over (first start on an older
//!   data dir, a deleted topic, an imported state, a large log), is a `C` record of an empty store (with the
//!   commit-log position) followed by the event records that rebuild the instance's store, so bodies stay
//!   raw bytes there too.

use std::sync::Arc;

use super::resources::MessagesDoc;
use super::store::{Recorder, Sink, StoreEvent};
use super::RocketMqModel;

/// One decoded log record.
#[derive(Debug)]
pub enum LogRecord {
    /// One change of the store (boxed: events carry a whole message).
    Event(Box<StoreEvent>),
    /// The store's whole content at that point (boxed: it is large and rare).
    Checkpoint(Box<super::store::MessageStore>, i64),
}

/// The payload of an event record.
pub fn encode_event(mut event: StoreEvent) -> Vec<u8> {
    let body = event.take_body();
    let json = serde_json::to_vec(&event).unwrap_or_default();
    let mut out = Vec::with_capacity(5 + json.len() + body.len());
    out.push(b'E');
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&body);
    out
}

/// Reads a record payload back; Err names what is wrong (damage the CRC did not catch, or a record of a
/// newer localyun).
pub fn decode_record(payload: &[u8]) -> Result<LogRecord, String> {
    match payload.split_first() {
        Some((b'E', rest)) => {
            let len = rest.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).ok_or("short event")?;
            let json = rest.get(4..4 + len as usize).ok_or("event longer than its record")?;
            let mut event: StoreEvent = serde_json::from_slice(json).map_err(|e| format!("event: {e}"))?;
            event.put_body(rest[4 + len as usize..].to_vec());
            Ok(LogRecord::Event(Box::new(event)))
        }
        Some((b'C', rest)) => {
            let doc: MessagesDoc = serde_json::from_slice(rest).map_err(|e| format!("checkpoint: {e}"))?;
            let commit_log = doc.commit_log_offset;
            Ok(LogRecord::Checkpoint(Box::new(doc.into_store()), commit_log))
        }
        Some((kind, _)) => Err(format!("unknown record kind {kind:#04x}")),
        None => Err("empty record".into()),
    }
}

impl RocketMqModel {
    /// Turns on event recording (with `--data-dir`, once the message logs are replayed): every instance's
    /// store, and every instance created later, hands its changes to one sink that
    /// [`RocketMqModel::take_message_events`] drains.
    pub fn enable_message_log(&self) {
        let sink = self.message_sink.write().get_or_insert_with(|| Arc::new(Sink::default())).clone();
        for entry in self.instances.read().values() {
            let mut instance = entry.cell.write();
            let id: Arc<str> = Arc::from(instance.meta.id.as_str());
            instance.store.recorder = Some(Recorder { instance: id, sink: sink.clone() });
        }
    }

    /// Whether events are being recorded.
    pub fn message_log_enabled(&self) -> bool {
        self.message_sink.read().is_some()
    }

    /// The recorder a new instance's store gets (None: not recording).
    pub(super) fn recorder_for(&self, id: &str) -> Option<Recorder> {
        self.message_sink.read().as_ref().map(|sink| Recorder { instance: Arc::from(id), sink: sink.clone() })
    }

    /// Drains the recorded events: (instance id, event), in the order they happened per instance.
    pub fn take_message_events(&self) -> Vec<(Arc<str>, StoreEvent)> {
        match self.message_sink.read().as_ref() {
            Some(sink) => std::mem::take(&mut *sink.lock()),
            None => Vec::new(),
        }
    }

    /// Whether the instance's store holds messages or message-side state (a data dir of an older localyun
    /// loads them from its snapshot or `m/<instance>` records; they then move into the message log).
    pub fn has_message_content(&self, instance_id: &str) -> bool {
        self.cell(instance_id).is_ok_and(|cell| cell.read().store.has_content())
    }

    /// Applies an instance's log records at start (before recording is on). Unknown instance: false.
    pub fn replay_messages(&self, instance_id: &str, records: Vec<LogRecord>) -> bool {
        let Ok(cell) = self.cell(instance_id) else { return false };
        let mut instance = cell.write();
        let mut top = -1;
        for record in records {
            match record {
                LogRecord::Event(event) => {
                    top = top.max(event.commit_offset().unwrap_or(-1));
                    instance.store.apply(*event);
                }
                LogRecord::Checkpoint(store, commit_log) => {
                    top = top.max(commit_log - 1);
                    instance.store.replace_content(*store);
                }
            }
        }
        // Every topic the journal knows has its queues (a checkpoint may predate a topic's creation).
        let topics: Vec<(String, u32)> = instance.topics.values().map(|t| (t.name.clone(), t.queue_count)).collect();
        for (name, queues) in topics {
            instance.store.apply(StoreEvent::AddTopic { topic: name, queues });
        }
        drop(instance);
        self.commit_log.fetch_max(top + 1, std::sync::atomic::Ordering::AcqRel);
        true
    }

    /// A checkpoint of one instance's store, taken while nothing can change it: under the instance's read
    /// lock, `f` gets the events recorded so far (of every instance; they happened before the checkpoint and
    /// must be written before it) and the checkpoint's record payloads (see the module docs). None when the
    /// instance does not exist.
    pub fn checkpoint_messages<R>(
        &self,
        instance_id: &str,
        f: impl FnOnce(Vec<(Arc<str>, StoreEvent)>, Vec<Vec<u8>>) -> R,
    ) -> Option<R> {
        let cell = self.cell(instance_id).ok()?;
        let instance = cell.read();
        if instance.deleted {
            return None;
        }
        let pending = self.take_message_events();
        let empty = MessagesDoc::of(
            &super::store::MessageStore::default(),
            self.commit_log.load(std::sync::atomic::Ordering::Acquire),
        );
        let mut head = vec![b'C'];
        serde_json::to_writer(&mut head, &empty).ok()?;
        let mut payloads = vec![head];
        payloads.extend(instance.store.rebuilding_events().into_iter().map(encode_event));
        Some(f(pending, payloads))
    }
}
