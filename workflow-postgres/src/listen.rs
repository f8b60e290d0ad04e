//! Wake-ups across processes: a connection that LISTENs on the store's
//! channel and turns each notification into a permit for the engine's
//! timer loop.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::poll_fn;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel a store's writers notify on: one per schema, so two
/// applications sharing a database do not wake each other.
pub(crate) fn channel(schema: &str) -> String {
    format!("workflow_{schema}")
}

/// LISTENs on `channel` for as long as the task runs, reconnecting with
/// backoff when the connection drops. Every notification, and every
/// reconnection (one may have been missed meanwhile), stores a permit in
/// `woken`.
pub(crate) async fn listen(config: tokio_postgres::Config, channel: String, woken: Arc<Notify>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let listening =
                    async { client.batch_execute(&format!("LISTEN \"{channel}\"")).await };
                // The connection must be polled for the LISTEN to be sent;
                // its messages carry the notifications.
                let mut listen = std::pin::pin!(listening);
                let mut subscribed = false;
                loop {
                    tokio::select! {
                        done = &mut listen, if !subscribed => {
                            if let Err(error) = done {
                                tracing::warn!(%error, "could not LISTEN for wake-ups");
                                break;
                            }
                            subscribed = true;
                            backoff = Duration::from_millis(50);
                            woken.notify_one();
                        }
                        message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                            Some(Ok(AsyncMessage::Notification(_))) => woken.notify_one(),
                            Some(Ok(_)) => {}
                            Some(Err(error)) => {
                                tracing::warn!(%error, "the wake-up connection failed");
                                break;
                            }
                            None => break,
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, ?backoff, "cannot connect to listen for wake-ups");
            }
        }
        // Something may have become due while nobody listened.
        woken.notify_one();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
