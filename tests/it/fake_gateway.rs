//! A local stand-in for Discord's gateway: a plain websocket speaking the documented
//! protocol (discord.com/developers/docs/events/gateway and …/events/gateway-events):
//! HELLO on connect, IDENTIFY → READY, heartbeats → ACK, dispatches pushed on request,
//! RESUME → RESUMED. Records what the client sends and can drop the connection.

use super::support::wait_until;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// The session READY hands out; a RESUME must name it.
pub const SESSION_ID: &str = "fake-session-0001";
/// What HELLO asks for (Discord's is ~41 s; serenity takes the value as given).
pub const HEARTBEAT_MS: u64 = 1_000;

/// One payload the client sent: on which connection (1-based), its opcode and data.
#[derive(Debug, Clone)]
pub struct Sent {
    pub conn: usize,
    pub op: u64,
    pub d: Value,
}

enum Ctl {
    Dispatch(&'static str, Value),
    Drop,
}

struct Shared {
    url: String,
    sent: Mutex<Vec<Sent>>,
    /// The request target of each websocket handshake (`/?v=10`).
    paths: Mutex<Vec<String>>,
    new_sent: Notify,
    connections: AtomicUsize,
    /// The last dispatch sequence number; it carries over a resumed session.
    seq: AtomicU64,
    /// Held by the live connection: the test's pushes and drops go to it.
    ctl: tokio::sync::Mutex<mpsc::UnboundedReceiver<Ctl>>,
}

/// The fake gateway.
pub struct FakeGateway {
    pub url: String,
    shared: Arc<Shared>,
    ctl: mpsc::UnboundedSender<Ctl>,
}

type Ws = WebSocketStream<TcpStream>;

async fn send(ws: &mut Ws, payload: Value) -> bool {
    ws.send(Message::Text(payload.to_string())).await.is_ok()
}

/// A dispatch (op 0): `{"op": 0, "d": {...}, "s": 42, "t": "GATEWAY_EVENT_NAME"}`.
fn dispatch(shared: &Shared, t: &str, d: Value) -> Value {
    let s = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    json!({"op": 0, "s": s, "t": t, "d": d})
}

/// READY's documented fields: v, user, guilds, session_id, resume_gateway_url, shard,
/// application (id and flags). serenity's `Ready` needs all but `shard`.
fn ready(shared: &Shared) -> Value {
    json!({
        "v": 10,
        "user": {"id": super::fake_discord::APP_ID.to_string(), "username": "promo", "discriminator": "0",
                 "global_name": null, "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0},
        "guilds": [],
        "session_id": SESSION_ID,
        "resume_gateway_url": shared.url,
        "shard": [0, 1],
        "application": {"id": super::fake_discord::APP_ID.to_string(), "flags": 0}
    })
}

/// What the gateway answers to a payload from the client, if anything.
fn answer(shared: &Shared, op: u64, d: &Value) -> Option<Value> {
    match op {
        // Heartbeat → Heartbeat ACK: `{"op": 11}`.
        1 => Some(json!({"op": 11, "d": null, "s": null, "t": null})),
        // Identify → Ready.
        2 => Some(dispatch(shared, "READY", ready(shared))),
        // Resume of our session → (no missed events) Resumed; of another → Invalid Session.
        6 if d["session_id"] == SESSION_ID => Some(dispatch(shared, "RESUMED", json!({}))),
        6 => Some(json!({"op": 9, "d": false, "s": null, "t": null})),
        _ => None,
    }
}

async fn serve(shared: Arc<Shared>, tcp: TcpStream) {
    let conn = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let record_path = shared.clone();
    #[expect(
        clippy::result_large_err,
        reason = "the signature of tungstenite's handshake callback"
    )]
    let handshake = tokio_tungstenite::accept_hdr_async(tcp, move |req: &Request, res: Response| {
        record_path.paths.lock().unwrap().push(req.uri().to_string());
        Ok(res)
    });
    let Ok(mut ws) = handshake.await else { return };
    // Hello, first on every connection: `{"op": 10, "d": {"heartbeat_interval": 45000}}`.
    if !send(
        &mut ws,
        json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}, "s": null, "t": null}),
    )
    .await
    {
        return;
    }
    let mut ctl = shared.ctl.lock().await;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                // A close frame is answered by tungstenite itself; keep reading until the end.
                let Message::Text(text) = msg else { continue };
                let v: Value = serde_json::from_str(&text).expect("the client sends JSON text");
                let op = v["op"].as_u64().expect("an opcode");
                let reply = answer(&shared, op, &v["d"]);
                shared.sent.lock().unwrap().push(Sent { conn, op, d: v["d"].clone() });
                shared.new_sent.notify_waiters();
                if let Some(reply) = reply
                    && !send(&mut ws, reply).await
                {
                    return;
                }
            }
            c = ctl.recv() => match c {
                Some(Ctl::Dispatch(t, d)) => {
                    let payload = dispatch(&shared, t, d);
                    if !send(&mut ws, payload).await {
                        return;
                    }
                }
                // Dropping the stream closes the TCP connection without a close frame.
                Some(Ctl::Drop) | None => return,
            },
        }
    }
}

impl FakeGateway {
    /// Starts the fake on a free loopback port; `url` is what `GET /gateway` hands out.
    pub async fn start() -> FakeGateway {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            url: url.clone(),
            sent: Mutex::new(Vec::new()),
            paths: Mutex::new(Vec::new()),
            new_sent: Notify::new(),
            connections: AtomicUsize::new(0),
            seq: AtomicU64::new(0),
            ctl: tokio::sync::Mutex::new(rx),
        });
        let accept = shared.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(accept.clone(), tcp));
            }
        });
        FakeGateway { url, shared, ctl: tx }
    }

    /// Pushes a dispatch event (op 0, `t`) on the live connection.
    pub fn dispatch(&self, t: &'static str, d: Value) {
        self.ctl.send(Ctl::Dispatch(t, d)).unwrap();
    }

    /// Drops the live connection (TCP closed, no close frame).
    pub fn drop_connection(&self) {
        self.ctl.send(Ctl::Drop).unwrap();
    }

    /// Everything the client sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.shared.sent.lock().unwrap().clone()
    }

    /// The request target of each websocket handshake.
    pub fn paths(&self) -> Vec<String> {
        self.shared.paths.lock().unwrap().clone()
    }

    /// The last dispatch sequence number sent.
    pub fn seq(&self) -> u64 {
        self.shared.seq.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `n` payloads matched `pred`.
    pub async fn wait_for(&self, n: usize, what: &str, pred: impl Fn(&Sent) -> bool) -> Vec<Sent> {
        wait_until(
            &format!("{n} × {what} from the client"),
            Duration::from_secs(10),
            || async {
                let got: Vec<Sent> = self.sent().into_iter().filter(|s| pred(s)).collect();
                (got.len() >= n).then_some(got)
            },
        )
        .await
    }
}
