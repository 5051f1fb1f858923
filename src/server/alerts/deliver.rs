//! Sends alert messages to Telegram and the webhook. Each channel has its own queue and task,
//! so a slow or failing receiver delays neither the other channel nor the sampler (sending
//! only puts a message in a bounded queue). A failed attempt is retried with doubling waits;
//! the outcome of each channel is kept for the page and `/metrics`. Errors never carry a URL:
//! the Bot API's URL holds the bot token.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::model::alerts::{AlertEvent, DeliveryStatus};
use crate::server::alerts::messages;
use crate::server::alerts::settings::{AlertSettings, TelegramSettings, WebhookSettings};
use crate::server::clock::now_ms;

/// Messages waiting per channel; beyond it the newest are dropped (and counted).
const QUEUE: usize = 256;
/// Waits between attempts stop doubling here.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
struct Outgoing {
    /// What it tells: several for a grouped Telegram message, one for a webhook call, none for
    /// a test message.
    events: Vec<AlertEvent>,
    target: String,
    text: String,
}

#[derive(Clone)]
pub struct Notifier {
    channels: Vec<(String, mpsc::Sender<Outgoing>)>,
    status: Arc<Statuses>,
    settings: Arc<AlertSettings>,
}

/// Each channel's outcome; every change is announced (the page shows it).
struct Statuses {
    by_channel: Mutex<BTreeMap<String, DeliveryStatus>>,
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Statuses {
    fn update(&self, channel: &str, change: impl FnOnce(&mut DeliveryStatus)) {
        let mut by_channel = self.by_channel.lock().unwrap_or_else(|p| p.into_inner());
        let status = by_channel
            .entry(channel.to_owned())
            .or_insert_with(|| DeliveryStatus {
                channel: channel.to_owned(),
                ..Default::default()
            });
        change(status);
        drop(by_channel);
        self.changes.send_modify(|version| *version += 1);
    }

    fn all(&self) -> Vec<DeliveryStatus> {
        let by_channel = self.by_channel.lock().unwrap_or_else(|p| p.into_inner());
        by_channel.values().cloned().collect()
    }
}

enum Channel {
    Telegram(TelegramSettings),
    Webhook(WebhookSettings),
}

impl Channel {
    fn name(&self) -> &'static str {
        match self {
            Self::Telegram(_) => "telegram",
            Self::Webhook(_) => "webhook",
        }
    }
}

impl Notifier {
    /// Starts one task per configured channel; they end when every `Notifier` is dropped.
    /// `changes` is bumped whenever a channel's outcome changes (the page shows it).
    pub fn start(
        settings: Arc<AlertSettings>,
        changes: Arc<tokio::sync::watch::Sender<u64>>,
    ) -> (Self, Vec<tokio::task::JoinHandle<()>>) {
        let client = reqwest::Client::builder()
            .timeout(settings.delivery_timeout)
            .connect_timeout(settings.delivery_timeout)
            .build()
            .unwrap_or_default();
        let status = Arc::new(Statuses {
            by_channel: Mutex::new(BTreeMap::new()),
            changes,
        });
        let mut channels = Vec::new();
        let mut tasks = Vec::new();
        let configured = settings
            .telegram
            .clone()
            .map(Channel::Telegram)
            .into_iter()
            .chain(settings.webhook.clone().map(Channel::Webhook));
        for channel in configured {
            let name = channel.name().to_owned();
            status.update(&name, |_| {});
            let (sender, receiver) = mpsc::channel(QUEUE);
            channels.push((name, sender));
            tasks.push(tokio::spawn(work(
                channel,
                receiver,
                client.clone(),
                settings.clone(),
                status.clone(),
            )));
        }
        (
            Self {
                channels,
                status,
                settings,
            },
            tasks,
        )
    }

    /// Queues the transitions one target had in one sample on every channel; never waits.
    /// Telegram gets them as one message (grouped per target), the webhook one call each.
    pub fn send(&self, events: &[AlertEvent]) {
        let Some(first) = events.first() else {
            return;
        };
        let (lang, page_url) = (self.settings.language, self.settings.page_url.as_deref());
        for (name, queue) in &self.channels {
            let outgoings = if name == "telegram" {
                vec![Outgoing {
                    events: events.to_vec(),
                    target: first.target.clone(),
                    text: messages::grouped_text(events, lang, page_url),
                }]
            } else {
                events
                    .iter()
                    .map(|event| Outgoing {
                        events: vec![event.clone()],
                        target: event.target.clone(),
                        text: messages::text(event, lang, page_url),
                    })
                    .collect()
            };
            for outgoing in outgoings {
                if queue.try_send(outgoing).is_err() {
                    self.status.update(name, |status| {
                        status.failed += 1;
                        status.last_error = Some("queue full: message dropped".into());
                        status.last_error_ms = Some(now_ms());
                    });
                }
            }
        }
    }

    pub fn status(&self) -> Vec<DeliveryStatus> {
        self.status.all()
    }
}

/// Sends a test message once to every channel now (for `cachepanel check --test-alert`):
/// each channel's outcome.
pub async fn send_test(
    settings: &AlertSettings,
    target: &str,
) -> Vec<(String, Result<(), String>)> {
    let client = reqwest::Client::builder()
        .timeout(settings.delivery_timeout)
        .build()
        .unwrap_or_default();
    let outgoing = Outgoing {
        events: Vec::new(),
        target: target.to_owned(),
        text: messages::test_text(target, settings.language, settings.page_url.as_deref()),
    };
    let mut outcomes = Vec::new();
    if let Some(telegram) = &settings.telegram {
        let outcome = to_telegram(&client, telegram, &outgoing).await;
        outcomes.push((
            "telegram".to_owned(),
            outcome.map_err(|failure| failure.reason),
        ));
    }
    if let Some(webhook) = &settings.webhook {
        let outcome = to_webhook(&client, webhook, &outgoing).await;
        outcomes.push((
            "webhook".to_owned(),
            outcome.map_err(|failure| failure.reason),
        ));
    }
    outcomes
}

async fn work(
    channel: Channel,
    mut queue: mpsc::Receiver<Outgoing>,
    client: reqwest::Client,
    settings: Arc<AlertSettings>,
    status: Arc<Statuses>,
) {
    let name = channel.name();
    let record = |change: &dyn Fn(&mut DeliveryStatus)| status.update(name, change);
    while let Some(outgoing) = queue.recv().await {
        let mut wait = settings.retry_after;
        for attempt in 1..=settings.delivery_attempts {
            let result = match &channel {
                Channel::Telegram(telegram) => to_telegram(&client, telegram, &outgoing).await,
                Channel::Webhook(webhook) => to_webhook(&client, webhook, &outgoing).await,
            };
            match result {
                Ok(()) => {
                    record(&|status| {
                        status.delivered += 1;
                        status.last_ok_ms = Some(now_ms());
                        status.last_error = None;
                    });
                    break;
                }
                Err(failure) => {
                    tracing::warn!(
                        channel = name,
                        alerts = %outgoing.events.iter().map(AlertEvent::key).collect::<Vec<_>>().join(","),
                        attempt,
                        reason = %failure.reason,
                        "delivering an alert failed"
                    );
                    let last = attempt == settings.delivery_attempts;
                    record(&|status| {
                        status.last_error = Some(failure.reason.clone());
                        status.last_error_ms = Some(now_ms());
                        if last {
                            status.failed += 1;
                        }
                    });
                    if last {
                        break;
                    }
                    // Telegram says how long to wait when it limits us.
                    tokio::time::sleep(failure.retry_after.unwrap_or(wait).min(LONGEST_WAIT)).await;
                    wait = (wait * 2).min(LONGEST_WAIT);
                }
            }
        }
    }
}

struct Failure {
    reason: String,
    retry_after: Option<Duration>,
}

impl Failure {
    fn of(error: reqwest::Error) -> Self {
        let error = error.without_url();
        let reason = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "could not connect".to_owned()
        } else {
            error.to_string()
        };
        Self {
            reason,
            retry_after: None,
        }
    }
}

#[derive(serde::Deserialize)]
struct TelegramAnswer {
    ok: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<TelegramParameters>,
}

#[derive(serde::Deserialize)]
struct TelegramParameters {
    retry_after: Option<u64>,
}

async fn to_telegram(
    client: &reqwest::Client,
    telegram: &TelegramSettings,
    outgoing: &Outgoing,
) -> Result<(), Failure> {
    let url = format!(
        "{}/bot{}/sendMessage",
        telegram.api_url,
        telegram.token.expose()
    );
    for chat in &telegram.chat_ids {
        let body = serde_json::json!({
            "chat_id": chat,
            "text": outgoing.text,
            "disable_web_page_preview": true,
        });
        let response = client
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(Failure::of)?;
        let status = response.status();
        let answer: Option<TelegramAnswer> = response.json().await.ok();
        if !status.is_success() || !answer.as_ref().is_some_and(|a| a.ok) {
            let description = answer
                .as_ref()
                .and_then(|a| a.description.clone())
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            return Err(Failure {
                reason: format!("Bot API answered {}{description}", status.as_u16()),
                retry_after: answer
                    .and_then(|a| a.parameters)
                    .and_then(|p| p.retry_after)
                    .map(Duration::from_secs),
            });
        }
    }
    Ok(())
}

/// The webhook's JSON body, with the message text for receivers that just forward it.
fn webhook_body(outgoing: &Outgoing) -> Vec<u8> {
    let Some(event) = outgoing.events.first() else {
        let body = serde_json::json!({
            "source": "cachepanel",
            "transition": "test",
            "target": outgoing.target,
            "text": outgoing.text,
        });
        return serde_json::to_vec(&body).unwrap_or_default();
    };
    let body = serde_json::json!({
        "source": "cachepanel",
        "alert": event.key(),
        "rule": event.rule.name(),
        "target": event.target,
        "labels": event.labels,
        "transition": event.transition.name(),
        "value": event.value,
        "threshold": event.threshold,
        "at_ms": event.at_ms,
        "since_ms": event.since_ms,
        "text": outgoing.text,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

async fn to_webhook(
    client: &reqwest::Client,
    webhook: &WebhookSettings,
    outgoing: &Outgoing,
) -> Result<(), Failure> {
    let body = webhook_body(outgoing);
    let mut request = client
        .post(&webhook.url)
        .header("content-type", "application/json");
    if let Some(secret) = &webhook.secret {
        request = request.header("x-cachepanel-signature", signature(secret.expose(), &body));
    }
    let response = request.body(body).send().await.map_err(Failure::of)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure {
            reason: format!("webhook answered {}", status.as_u16()),
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_signature_is_the_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
